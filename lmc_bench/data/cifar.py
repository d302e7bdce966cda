"""CIFAR-10 (Table II) from ``ROOT/cifar-10-batches-py``, the python version torchvision extracts.

A user's data is always read by torchvision's ``CIFAR10(root, download=False)``, which checks the
MD5 of every file; a mismatch raises :class:`CorruptDatasetError` naming the file. The MD5-free
reader exists only for the tiny fixture roots the tests write (``verify_checksums=False``).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from .roots import (
    CIFAR10_FILES,
    CIFAR10_TEST_BATCHES,
    CIFAR10_TRAIN_BATCHES,
    CorruptDatasetError,
)

N_CLASSES = 10
IMAGE_SHAPE = (3, 32, 32)

BATCH_FORMAT = (
    "expected a CIFAR-10 python batch: a pickled dict with 'data' (uint8 array N x 3072, "
    "channel-planar 3 x 32 x 32) and 'labels' (N integers in 0..9)"
)


def load_cifar10(folder: Path, train: bool, verify_checksums: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 images N x 3 x 32 x 32, int64 labels N) of the training or test batches in ``folder``."""
    if verify_checksums:
        return _read_with_torchvision(folder, train)
    return read_cifar10_batches(folder, train)


def _read_with_torchvision(folder: Path, train: bool) -> tuple[np.ndarray, np.ndarray]:
    from torchvision.datasets import CIFAR10

    try:
        dataset = CIFAR10(str(folder.parent), train=train, download=False)
    except RuntimeError as error:
        raise CorruptDatasetError(_checksum_failure(folder, error)) from error
    images = np.ascontiguousarray(dataset.data.transpose(0, 3, 1, 2))
    return images, np.asarray(dataset.targets, dtype=np.int64)


def _checksum_failure(folder: Path, error: RuntimeError) -> str:
    """Message naming the first file whose MD5 differs from torchvision's official list."""
    from torchvision.datasets import CIFAR10
    from torchvision.datasets.utils import check_integrity

    official = dict(CIFAR10.train_list + CIFAR10.test_list)
    official[CIFAR10.meta["filename"]] = CIFAR10.meta["md5"]
    for name in CIFAR10_FILES:
        if not check_integrity(str(folder / name), official[name]):
            return (
                f"{folder / name}: MD5 checksum differs from the official CIFAR-10 python version "
                f"(torchvision's CIFAR10 checks every file of {folder}); re-extract cifar-10-python.tar.gz there"
            )
    return f"{folder}: torchvision's CIFAR10 could not read the folder: {error}"


def read_cifar10_batches(folder: Path, train: bool) -> tuple[np.ndarray, np.ndarray]:
    """MD5-free reader of the batch files (fixture roots only; never used for a user's data)."""
    names = CIFAR10_TRAIN_BATCHES if train else CIFAR10_TEST_BATCHES
    parts = [_read_batch(folder / name) for name in names]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with path.open("rb") as f:
            entry = pickle.load(f, encoding="bytes")
    except Exception as error:
        raise CorruptDatasetError(f"{path}: cannot be unpickled ({error!r}); {BATCH_FORMAT}") from error
    if not isinstance(entry, dict):
        raise CorruptDatasetError(f"{path}: holds a {type(entry).__name__}; {BATCH_FORMAT}")
    data = entry.get(b"data", entry.get("data"))
    labels = entry.get(b"labels", entry.get("labels"))
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        found = f"{data.dtype} array {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise CorruptDatasetError(f"{path}: 'data' is {found}; {BATCH_FORMAT}")
    try:
        labels = np.asarray(labels, dtype=np.int64)
    except (TypeError, ValueError) as error:
        raise CorruptDatasetError(f"{path}: 'labels' are not integers ({error}); {BATCH_FORMAT}") from error
    if labels.shape != (len(data),):
        raise CorruptDatasetError(f"{path}: {len(data)} images but {labels.size} labels; {BATCH_FORMAT}")
    if labels.size and not 0 <= labels.min() <= labels.max() < N_CLASSES:
        raise CorruptDatasetError(f"{path}: labels outside 0..{N_CLASSES - 1}; {BATCH_FORMAT}")
    return data.reshape(-1, *IMAGE_SHAPE), labels
