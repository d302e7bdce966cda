"""lmc-bench data download / status: the offline message, nothing fetched when the data is there,
and found / missing / corrupt on fixture trees in the real layouts. No test touches the network:
every socket connection and name lookup fails."""

from __future__ import annotations

import hashlib
import socket

import pytest

from fixtures.formats import write_cifar10_root, write_idx_folder, write_torchvision_idx_root
from lmc_bench import cli
from lmc_bench.data.download import DownloadError, download
from lmc_bench.data.status import CORRUPT, FOUND, MISSING, dataset_status


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """No network: name lookups and connections fail as they do on an offline machine."""

    def refuse(*args, **kwargs):
        raise OSError(101, "Network is unreachable (tests never download)")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.mark.parametrize("name, display, manual", [
    ("mnist", "MNIST", "MNIST/raw/"),
    ("fashion_mnist", "Fashion-MNIST", "dataset-fashion-mnist"),
    ("cifar10", "CIFAR-10", "cifar-10-python.tar.gz"),
])
def test_offline_download_names_the_dataset_and_the_manual_route(tmp_path, name, display, manual):
    with pytest.raises(DownloadError) as error:
        download(name, tmp_path)
    message = str(error.value)
    assert message.startswith(f"{display}: download failed") and "unreachable" in message
    assert manual in message and str(tmp_path) in message and "lmc-bench data status" in message


def test_cli_download_offline_prints_one_message_per_dataset(tmp_path, capsys):
    assert cli.main(["data", "download", "--root", str(tmp_path), "mnist", "cifar10"]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert [line.split(":")[2].strip() for line in errors] == ["MNIST", "CIFAR-10"]


def test_download_fetches_nothing_when_the_dataset_is_there(tmp_path, idx_parts):
    write_torchvision_idx_root(tmp_path, *idx_parts)
    assert str(tmp_path / "MNIST" / "raw") in download("mnist", tmp_path)


def test_status_of_fixture_trees(tmp_path, idx_parts, cifar_parts):
    write_torchvision_idx_root(tmp_path, *idx_parts)
    write_idx_folder(tmp_path / "fashion-mnist", *idx_parts, gz=True)
    write_cifar10_root(tmp_path, *cifar_parts)
    mnist, fashion, cifar = (dataset_status(name, tmp_path) for name in ("mnist", "fashion_mnist", "cifar10"))
    assert mnist.state == fashion.state == FOUND
    assert "40 training / 20 test images" in mnist.detail and "official set has 60,000 / 10,000" in mnist.detail
    assert str(tmp_path / "fashion-mnist") in fashion.detail
    assert cifar.state == CORRUPT and "MD5" in cifar.detail and "data_batch_1" in cifar.detail


def test_status_of_cifar10_with_matching_checksums(tmp_path, cifar_parts, monkeypatch):
    from torchvision.datasets import CIFAR10

    folder = write_cifar10_root(tmp_path, *cifar_parts) / "cifar-10-batches-py"

    def md5(name):
        return hashlib.md5((folder / name).read_bytes()).hexdigest()

    monkeypatch.setattr(CIFAR10, "train_list", [[f"data_batch_{i}", md5(f"data_batch_{i}")] for i in range(1, 6)])
    monkeypatch.setattr(CIFAR10, "test_list", [["test_batch", md5("test_batch")]])
    monkeypatch.setattr(CIFAR10, "meta", {**CIFAR10.meta, "md5": md5("batches.meta")})
    status = dataset_status("cifar10", tmp_path)
    assert status.state == FOUND and "50 training / 20 test images" in status.detail


def test_status_of_truncated_and_incomplete_idx_folders(tmp_path, idx_parts):
    folder = write_idx_folder(tmp_path / "mnist", *idx_parts)
    images = folder / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-5])
    status = dataset_status("mnist", tmp_path)
    assert status.state == CORRUPT and str(images) in status.detail and "truncated" in status.detail
    (folder / "t10k-labels-idx1-ubyte").unlink()
    status = dataset_status("mnist", tmp_path)
    assert status.state == MISSING and "t10k-labels-idx1-ubyte" in status.detail
    assert "ROOT/MNIST/raw/" in status.layout


def make_tree(root, *paths):
    for path in paths:
        target = root / path
        if path.endswith("/"):
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(b"")
    return root


@pytest.mark.parametrize("paths, state, words", [
    (("metadata.parquet", "BigEarthNet-S2/S2A_tile/S2A_tile_patch/"), FOUND, "v2 layout"),
    (("BigEarthNet-v1.0/S2A_MSIL2A_20170613_0_0/",), FOUND, "v1 layout"),
    (("metadata.parquet",), CORRUPT, "BigEarthNet-S2/ is missing"),
    (("BigEarthNet-S2/S2A_tile/",), CORRUPT, "metadata.parquet is missing"),
    (("BigEarthNet-v1.0/",), CORRUPT, "no patch folders"),
    ((), MISSING, "neither layout"),
])
def test_bigearthnet_layout_by_file_presence(tmp_path, paths, state, words):
    status = dataset_status("bigearthnet", make_tree(tmp_path, *paths))
    assert status.state == state and words in status.detail
    assert "metadata.parquet" in status.layout and "BigEarthNet-v1.0" in status.layout


def test_cli_status_lists_every_dataset_with_the_layout_of_the_missing(tmp_path, idx_parts, capsys):
    write_torchvision_idx_root(tmp_path, *idx_parts)
    assert cli.main(["data", "status", "--root", str(tmp_path), "mnist"]) == 0
    assert cli.main(["data", "status", "--root", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert [line.split()[:2] for line in out.splitlines() if not line.startswith(" ")] == [
        ["mnist", "found"], ["mnist", "found"], ["fashion_mnist", "missing"], ["cifar10", "missing"], ["bigearthnet", "missing"]]
    assert "expected: ROOT/cifar-10-batches-py/" in out
