"""Parser of the IDX format of MNIST and Fashion-MNIST, plain or gzip-compressed.

An IDX file is a big-endian uint32 magic (0x00000803 for uint8 images with 3 dimensions,
0x00000801 for uint8 labels with 1), one big-endian uint32 per dimension, then the values as raw
bytes. Every check names the file: wrong magic, truncated header or payload, trailing bytes, a
broken gzip stream, and images and labels that disagree in count.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from .roots import CorruptDatasetError

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801

IDX_FORMAT = (
    "expected an IDX file: big-endian uint32 magic 0x00000803 (images) or 0x00000801 (labels), "
    "one big-endian uint32 per dimension, then the uint8 values"
)

_KIND = {IMAGES_MAGIC: "images", LABELS_MAGIC: "labels"}


def _read_bytes(path: Path) -> bytes:
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        return gzip.decompress(path.read_bytes())
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise CorruptDatasetError(f"{path}: not a complete gzip stream ({error}); {IDX_FORMAT}, gzipped") from error


def _parse_header(path: Path, head: bytes, total_length: int, magic: int) -> tuple[tuple[int, ...], int]:
    """(dimensions, header length) after checking the magic and the file's total length."""
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if total_length < header:
        raise CorruptDatasetError(f"{path}: truncated header ({total_length} bytes); {IDX_FORMAT}")
    found = int.from_bytes(head[:4], "big")
    if found != magic:
        raise CorruptDatasetError(
            f"{path}: magic 0x{found:08x}, expected 0x{magic:08x} ({_KIND[magic]}); {IDX_FORMAT}"
        )
    dims = tuple(int.from_bytes(head[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected, payload = math.prod(dims), total_length - header
    if payload != expected:
        problem = "truncated" if payload < expected else "has trailing bytes"
        raise CorruptDatasetError(
            f"{path}: {problem}: header declares dimensions {dims} = {expected} values, "
            f"the file holds {payload}; {IDX_FORMAT}"
        )
    return dims, header


def read_idx(path: str | Path, magic: int) -> np.ndarray:
    """The uint8 array stored in an IDX file (``.gz`` decompressed transparently)."""
    path = Path(path)
    data = _read_bytes(path)
    dims, header = _parse_header(path, data, len(data), magic)
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def check_idx_file(path: str | Path, magic: int) -> tuple[int, ...]:
    """Dimensions of a valid IDX file; a plain file is checked from its header and size alone."""
    path = Path(path)
    if path.suffix == ".gz":
        return read_idx(path, magic).shape
    with path.open("rb") as f:
        head = f.read(4 + 4 * (magic & 0xFF))
    return _parse_header(path, head, path.stat().st_size, magic)[0]


def check_same_count(images_path: Path, n_images: int, labels_path: Path, n_labels: int) -> None:
    """Images and labels files must describe the same number of examples."""
    if n_images != n_labels:
        raise CorruptDatasetError(
            f"{images_path} holds {n_images} images but {labels_path} holds {n_labels} labels; "
            "the two files of one part must describe the same examples"
        )


def read_idx_pair(images_path: str | Path, labels_path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 images N x 1 x H x W, int64 labels N) from an images file and its labels file."""
    images_path, labels_path = Path(images_path), Path(labels_path)
    images = read_idx(images_path, IMAGES_MAGIC)
    labels = read_idx(labels_path, LABELS_MAGIC)
    check_same_count(images_path, len(images), labels_path, len(labels))
    return images[:, None].copy(), labels.astype(np.int64)
