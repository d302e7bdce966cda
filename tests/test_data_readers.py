"""Readers of the datasets of Table II as researchers have them on disk: torchvision roots, plain
IDX folders (plain or .gz), Debian's Fashion-MNIST, CIFAR-10's python batches. Every test writes
tiny files in the real formats (``fixtures/formats.py``) and reads them back through
``load_dataset``."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest

from fixtures.formats import (
    IDX_NAMES,
    idx_bytes,
    random_images,
    write_cifar10_root,
    write_idx,
    write_idx_folder,
    write_pickle,
    write_torchvision_idx_root,
)
from lmc_bench.data import DATASETS, CorruptDatasetError, DatasetNotFoundError, load_dataset
from lmc_bench.data import roots
from lmc_bench.data.idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx
from lmc_bench.data.roots import resolve_idx_folder

IDX_DATASETS = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}


def tree_snapshot(root: Path) -> list[tuple[str, int, int]]:
    """Every entry under ``root`` with its size and modification time."""
    return sorted((str(p.relative_to(root)), p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*"))


def assert_part(loaded, expected, channels: int = 1):
    images, labels = loaded
    want_images, want_labels = expected
    assert images.dtype == np.uint8 and labels.dtype == np.int64
    assert images.shape == (len(want_images), channels, *want_images.shape[-2:])
    np.testing.assert_array_equal(images.reshape(want_images.shape), want_images)
    np.testing.assert_array_equal(labels, want_labels)


# --- IDX format ---------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_read_idx_round_trip(tmp_path, idx_parts, suffix):
    images, labels = idx_parts[0]
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / f"i{suffix}", images), IMAGES_MAGIC), images)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / f"l{suffix}", labels), LABELS_MAGIC), labels)


def test_idx_header_is_big_endian():
    data = idx_bytes(np.zeros((2, 3, 4), dtype=np.uint8))
    assert data[:16] == bytes.fromhex("00000803" "00000002" "00000003" "00000004")
    assert idx_bytes(np.zeros(5, dtype=np.uint8))[:8] == bytes.fromhex("00000801" "00000005")


# --- MNIST / Fashion-MNIST layouts --------------------------------------------------------------


@pytest.mark.parametrize("name", IDX_DATASETS)
def test_torchvision_reads_our_fixture_root(tmp_path, idx_parts, name):
    """Our IDX writer produces files torchvision's own class accepts with download=False."""
    import torchvision.datasets

    write_torchvision_idx_root(tmp_path, *idx_parts, dataset_class=IDX_DATASETS[name])
    dataset_class = getattr(torchvision.datasets, IDX_DATASETS[name])
    for part, train in ((idx_parts[0], True), (idx_parts[1], False)):
        dataset = dataset_class(str(tmp_path), train=train, download=False)
        np.testing.assert_array_equal(dataset.data.numpy(), part[0])
        np.testing.assert_array_equal(dataset.targets.numpy(), part[1])


@pytest.mark.parametrize("name", IDX_DATASETS)
@pytest.mark.parametrize("train", [True, False])
def test_load_from_torchvision_root_uses_torchvision(tmp_path, idx_parts, name, train):
    write_torchvision_idx_root(tmp_path, *idx_parts, dataset_class=IDX_DATASETS[name])
    folder = resolve_idx_folder(name, tmp_path)
    assert folder.torchvision_readable and folder.torchvision_root == tmp_path
    assert_part(load_dataset(name, tmp_path, train=train), idx_parts[0 if train else 1])


@pytest.mark.parametrize(
    "name, subfolder",
    [
        ("mnist", "MNIST/raw"),
        ("mnist", "mnist"),
        ("mnist", "."),
        ("fashion_mnist", "FashionMNIST/raw"),
        ("fashion_mnist", "fashion-mnist"),
        ("fashion_mnist", "fashion_mnist"),
    ],
)
@pytest.mark.parametrize("gz", [False, True])
def test_load_from_every_accepted_folder(tmp_path, idx_parts, name, subfolder, gz):
    write_idx_folder(tmp_path / subfolder, *idx_parts, gz=gz)
    assert_part(load_dataset(name, tmp_path, train=True), idx_parts[0])
    assert_part(load_dataset(name, str(tmp_path), train=False), idx_parts[1])


def test_mixed_plain_and_gz_files(tmp_path, idx_parts):
    (train_images, train_labels), (test_images, test_labels) = idx_parts
    write_idx(tmp_path / "mnist" / "train-images-idx3-ubyte.gz", train_images)
    write_idx(tmp_path / "mnist" / "train-labels-idx1-ubyte", train_labels)
    write_idx(tmp_path / "mnist" / "t10k-images-idx3-ubyte", test_images)
    write_idx(tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz", test_labels)
    assert_part(load_dataset("mnist", tmp_path, train=True), idx_parts[0])
    assert_part(load_dataset("mnist", tmp_path, train=False), idx_parts[1])


def test_torchvision_layout_is_tried_first(tmp_path, idx_parts):
    write_torchvision_idx_root(tmp_path, *idx_parts)
    other = random_images(10, (28, 28), seed=9)
    write_idx_folder(tmp_path / "mnist", other, other)
    assert_part(load_dataset("mnist", tmp_path), idx_parts[0])


def test_gz_only_torchvision_layout_is_read_by_our_parser(tmp_path, idx_parts):
    write_torchvision_idx_root(tmp_path, *idx_parts, gz=True)
    assert not resolve_idx_folder("mnist", tmp_path).torchvision_readable
    assert_part(load_dataset("mnist", tmp_path), idx_parts[0])


@pytest.mark.parametrize("layout", ["torchvision", "gz folder"])
def test_nothing_is_written_into_an_idx_root(tmp_path, idx_parts, layout):
    if layout == "torchvision":
        write_torchvision_idx_root(tmp_path, *idx_parts)
    else:
        write_idx_folder(tmp_path / "mnist", *idx_parts, gz=True)
    before = tree_snapshot(tmp_path)
    load_dataset("mnist", tmp_path, train=True)
    load_dataset("mnist", tmp_path, train=False)
    assert tree_snapshot(tmp_path) == before


# --- Fashion-MNIST from Debian's package --------------------------------------------------------


@pytest.mark.skipif(
    not roots.DEBIAN_FASHION_MNIST.is_dir(),
    reason=f"{roots.DEBIAN_FASHION_MNIST} absent: install Debian's dataset-fashion-mnist package to run this test",
)
def test_debian_fashion_mnist_package():
    """The real Fashion-MNIST of Debian's package: 60,000 / 10,000 images, balanced classes."""
    for train, n in ((True, 60_000), (False, 10_000)):
        images, labels = load_dataset("fashion_mnist", train=train)
        assert images.shape == (n, 1, 28, 28) and images.dtype == np.uint8
        assert np.bincount(labels).tolist() == [n // 10] * 10


def test_debian_layout_fixture(tmp_path, idx_parts, monkeypatch):
    """The Debian folder layout (four .gz files), read when no data root is given."""
    debian = tmp_path / "usr" / "share" / "datasets" / "fashion-mnist"
    write_idx_folder(debian, *idx_parts, gz=True)
    monkeypatch.setattr(roots, "DEBIAN_FASHION_MNIST", debian)
    assert_part(load_dataset("fashion_mnist", train=True), idx_parts[0])
    assert_part(load_dataset("fashion_mnist", train=False), idx_parts[1])


def test_no_root_and_no_debian_package(tmp_path, monkeypatch):
    monkeypatch.setattr(roots, "DEBIAN_FASHION_MNIST", tmp_path / "absent")
    with pytest.raises(DatasetNotFoundError) as error:
        load_dataset("fashion_mnist")
    message = str(error.value)
    assert "no data root" in message and str(tmp_path / "absent") in message
    assert "dataset-fashion-mnist" in message and "--data-root" in message


# --- CIFAR-10 -----------------------------------------------------------------------------------


@pytest.mark.parametrize("bytes_keys", [False, True])
def test_cifar10_fixture_root(tmp_path, cifar_parts, bytes_keys):
    write_cifar10_root(tmp_path, *cifar_parts, bytes_keys=bytes_keys)
    assert_part(load_dataset("cifar10", tmp_path, train=True, verify_checksums=False), cifar_parts[0], 3)
    assert_part(load_dataset("cifar10", tmp_path, train=False, verify_checksums=False), cifar_parts[1], 3)


def test_cifar10_through_torchvision_matches_our_reader(tmp_path, cifar_parts, monkeypatch):
    """With torchvision's MD5 list pointed at the fixture files, torchvision's own reader and the
    MD5-free reader give the same channel-planar images."""
    from torchvision.datasets import CIFAR10

    folder = write_cifar10_root(tmp_path, *cifar_parts) / "cifar-10-batches-py"

    def md5(name):
        return hashlib.md5((folder / name).read_bytes()).hexdigest()

    monkeypatch.setattr(CIFAR10, "train_list", [[f"data_batch_{i}", md5(f"data_batch_{i}")] for i in range(1, 6)])
    monkeypatch.setattr(CIFAR10, "test_list", [["test_batch", md5("test_batch")]])
    monkeypatch.setattr(CIFAR10, "meta", {**CIFAR10.meta, "md5": md5("batches.meta")})
    before = tree_snapshot(tmp_path)
    for train in (True, False):
        loaded = load_dataset("cifar10", tmp_path, train=train)
        assert_part(loaded, cifar_parts[0 if train else 1], 3)
        assert loaded[0].flags.c_contiguous
    assert tree_snapshot(tmp_path) == before


def test_cifar10_checksums_are_verified_by_default(tmp_path, cifar_parts):
    write_cifar10_root(tmp_path, *cifar_parts)
    before = tree_snapshot(tmp_path)
    with pytest.raises(CorruptDatasetError, match="MD5") as error:
        load_dataset("cifar10", tmp_path)
    assert str(tmp_path / "cifar-10-batches-py" / "data_batch_1") in str(error.value)
    assert tree_snapshot(tmp_path) == before


# --- errors a user can cause --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist", "cifar10"])
def test_missing_root(tmp_path, name):
    with pytest.raises(DatasetNotFoundError) as error:
        load_dataset(name, tmp_path / "nowhere")
    message = str(error.value)
    assert isinstance(error.value, FileNotFoundError)
    assert str(tmp_path / "nowhere") in message and "--data-root" in message
    expected_layout = {"mnist": "MNIST/raw", "fashion_mnist": "FashionMNIST/raw", "cifar10": "cifar-10-batches-py"}
    assert expected_layout[name] in message


@pytest.mark.parametrize("name", ["mnist", "cifar10"])
def test_no_root_given(name):
    with pytest.raises(DatasetNotFoundError, match="no data root"):
        load_dataset(name)


def test_incomplete_idx_folder_names_missing_file(tmp_path, idx_parts):
    folder = write_idx_folder(tmp_path / "MNIST" / "raw", *idx_parts)
    (folder / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DatasetNotFoundError) as error:
        load_dataset("mnist", tmp_path)
    message = str(error.value)
    assert f"{folder}/: missing t10k-labels-idx1-ubyte" in message
    for tried in (tmp_path / "mnist", tmp_path):
        assert f"{tried}/:" in message


def test_incomplete_cifar10_folder_names_missing_file(tmp_path, cifar_parts):
    folder = write_cifar10_root(tmp_path, *cifar_parts) / "cifar-10-batches-py"
    (folder / "batches.meta").unlink()
    with pytest.raises(DatasetNotFoundError, match="missing batches.meta"):
        load_dataset("cifar10", tmp_path, verify_checksums=False)


def _corrupt(path: Path, change) -> None:
    """Rewrite an IDX file (decompressing and recompressing a .gz) with ``change`` applied to its bytes."""
    data = path.read_bytes()
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(change(gzip.decompress(data))))
    else:
        path.write_bytes(change(data))


CORRUPTIONS = {
    "truncated payload": (lambda b: b[:-7], "truncated"),
    "trailing bytes": (lambda b: b + b"\0", "trailing bytes"),
    "truncated header": (lambda b: b[:6], "truncated header"),
    "wrong magic": (lambda b: bytes.fromhex("00000801") + b[4:], "magic 0x00000801, expected 0x00000803"),
}


@pytest.mark.parametrize("corruption", CORRUPTIONS)
@pytest.mark.parametrize("layout", ["torchvision", "gz folder"])
def test_corrupt_images_file_is_named(tmp_path, idx_parts, corruption, layout):
    if layout == "torchvision":
        folder = write_torchvision_idx_root(tmp_path, *idx_parts) / "MNIST" / "raw"
        path = folder / IDX_NAMES["train"][0]
    else:
        folder = write_idx_folder(tmp_path / "mnist", *idx_parts, gz=True)
        path = folder / f"{IDX_NAMES['train'][0]}.gz"
    change, expected = CORRUPTIONS[corruption]
    _corrupt(path, change)
    with pytest.raises(CorruptDatasetError) as error:
        load_dataset("mnist", tmp_path, train=True)
    message = str(error.value)
    assert str(path) in message and expected in message and "IDX" in message
    assert isinstance(error.value, ValueError)


@pytest.mark.parametrize("damage", ["cut short", "not gzip"])
def test_broken_gzip_stream_is_named(tmp_path, idx_parts, damage):
    folder = write_idx_folder(tmp_path / "mnist", *idx_parts, gz=True)
    path = folder / f"{IDX_NAMES['test'][1]}.gz"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "cut short" else b"plain text, no gzip")
    with pytest.raises(CorruptDatasetError, match="gzip") as error:
        load_dataset("mnist", tmp_path, train=False)
    assert str(path) in str(error.value)


@pytest.mark.parametrize("layout", ["torchvision", "gz folder"])
def test_image_label_count_mismatch_names_both_files(tmp_path, idx_parts, layout):
    (images, labels), test = idx_parts
    short = (images, labels[:-1])
    if layout == "torchvision":
        folder = write_torchvision_idx_root(tmp_path, short, test) / "MNIST" / "raw"
        suffix = ""
    else:
        folder = write_idx_folder(tmp_path / "mnist", short, test, gz=True)
        suffix = ".gz"
    with pytest.raises(CorruptDatasetError) as error:
        load_dataset("mnist", tmp_path, train=True)
    message = str(error.value)
    assert "40 images" in message and "39 labels" in message
    for name in IDX_NAMES["train"]:
        assert str(folder / f"{name}{suffix}") in message


def test_labels_outside_ten_classes(tmp_path, idx_parts):
    (images, labels), test = idx_parts
    bad = labels.copy()
    bad[3] = 12
    folder = write_idx_folder(tmp_path / "mnist", (images, bad), test)
    with pytest.raises(CorruptDatasetError, match="0..9") as error:
        load_dataset("mnist", tmp_path)
    assert str(folder / IDX_NAMES["train"][1]) in str(error.value)


BATCH_DAMAGE = {
    "truncated pickle": lambda path: path.write_bytes(path.read_bytes()[:100]),
    "not a dict": lambda path: write_pickle(path, [1, 2, 3]),
    "wrong image size": lambda path: write_pickle(
        path, {"data": np.zeros((10, 1024), np.uint8), "labels": [0] * 10}
    ),
    "label count mismatch": lambda path: write_pickle(
        path, {"data": np.zeros((10, 3072), np.uint8), "labels": [0] * 9}
    ),
    "labels not integers": lambda path: write_pickle(
        path, {"data": np.zeros((2, 3072), np.uint8), "labels": ["cat", "dog"]}
    ),
}


@pytest.mark.parametrize("damage", BATCH_DAMAGE)
def test_corrupt_cifar10_batch_is_named(tmp_path, cifar_parts, damage):
    folder = write_cifar10_root(tmp_path, *cifar_parts) / "cifar-10-batches-py"
    BATCH_DAMAGE[damage](folder / "data_batch_3")
    with pytest.raises(CorruptDatasetError) as error:
        load_dataset("cifar10", tmp_path, train=True, verify_checksums=False)
    assert str(folder / "data_batch_3") in str(error.value) and "CIFAR-10 python batch" in str(error.value)


def test_unknown_dataset_lists_the_names():
    with pytest.raises(ValueError) as error:
        load_dataset("imagenet")
    for name in DATASETS:
        assert name in str(error.value)


# --- bundled real samples -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, train, shape",
    [
        ("mnist_bundled", True, (4000, 1, 28, 28)),
        ("mnist_bundled", False, (1000, 1, 28, 28)),
        ("digits_bundled", True, (1438, 1, 8, 8)),
        ("digits_bundled", False, (359, 1, 8, 8)),
    ],
)
def test_bundled_samples(name, train, shape):
    images, labels = load_dataset(name, train=train)
    assert images.shape == shape and images.dtype == np.uint8 and labels.dtype == np.int64
    assert len(labels) == shape[0] and set(np.unique(labels).tolist()) == set(range(10))
    images[:] = 0
    assert load_dataset(name, train=train)[0].any()
