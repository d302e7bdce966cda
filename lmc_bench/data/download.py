"""``lmc-bench data download``: MNIST, Fashion-MNIST and CIFAR-10 through torchvision's own
``download=True`` (torchvision verifies every file's MD5), into the layouts the readers accept:
``ROOT/MNIST/raw/``, ``ROOT/FashionMNIST/raw/`` and ``ROOT/cifar-10-batches-py/``.

Without a network the download fails with one :class:`DownloadError` naming the dataset, the files
to fetch by hand and where to put them.
"""

from __future__ import annotations

from pathlib import Path
from urllib.error import URLError

from .roots import CIFAR10_FOLDER, IDX_LAYOUTS
from .status import FOUND, dataset_status

TORCHVISION_CLASSES = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST", "cifar10": "CIFAR10"}
DISPLAY_NAMES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", "cifar10": "CIFAR-10"}


class DownloadError(RuntimeError):
    """A dataset could not be downloaded; the message says how to install it by hand."""


def _torchvision_class(name: str):
    import torchvision.datasets

    if name not in TORCHVISION_CLASSES:
        raise ValueError(f"cannot download {name!r}; downloadable: {', '.join(TORCHVISION_CLASSES)}")
    return getattr(torchvision.datasets, TORCHVISION_CLASSES[name])


def manual_instructions(name: str, root: Path) -> str:
    """How to install ``name`` under ``root`` without this command."""
    dataset_class = _torchvision_class(name)
    if name == "cifar10":
        return (f"download {dataset_class.url} (MD5 {dataset_class.tgz_md5}) and extract it in {root}, "
                f"giving {root / CIFAR10_FOLDER}/")
    urls = " ".join(f"{dataset_class.mirrors[0]}{file}" for file, _ in dataset_class.resources)
    text = f"download {urls} into {root / dataset_class.__name__ / 'raw'}/ (the .gz files are read as they are)"
    if IDX_LAYOUTS[name].system_folder_when_no_root:
        text += "; or install Debian's dataset-fashion-mnist package and pass no data root"
    return text


def download(name: str, root: str | Path) -> str:
    """Fetch ``name`` into ``root`` (nothing is fetched when torchvision finds it complete) and
    check it with the suite's reader; returns where it is."""
    root = Path(root).expanduser()
    dataset_class = _torchvision_class(name)
    try:
        dataset_class(str(root), train=True, download=True)
    except (OSError, RuntimeError) as error:  # URLError is an OSError; torchvision wraps mirror failures in RuntimeError
        raise DownloadError(
            f"{DISPLAY_NAMES[name]}: download failed ({_reason(error)}). Without a network, {manual_instructions(name, root)}; "
            f"then `lmc-bench data status --root {root}` checks it."
        ) from error
    status = dataset_status(name, root)
    if status.state != FOUND:
        raise DownloadError(f"{DISPLAY_NAMES[name]}: downloaded, but the reader says {status.state}: {status.detail}")
    return status.detail


def _reason(error: BaseException) -> str:
    """The innermost line of a download error (torchvision lists every mirror it tried)."""
    if isinstance(error, URLError):
        return str(error.reason)
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__
