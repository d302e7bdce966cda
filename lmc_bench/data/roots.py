"""Where each dataset lives under the one ``--data-root`` a user passes, and the two errors a
user's data can cause (missing or corrupt).

Accepted layouts (MNIST and CIFAR-10 are the datasets of Table II):

- ``mnist``: ``ROOT/MNIST/raw/`` (torchvision), ``ROOT/mnist/``, or ``ROOT/`` itself;
- ``fashion_mnist``: ``ROOT/FashionMNIST/raw/`` (torchvision), ``ROOT/fashion-mnist/``,
  ``ROOT/fashion_mnist/``; without a root, Debian's ``/usr/share/datasets/fashion-mnist/``
  (package ``dataset-fashion-mnist``);
- each of these folders holds the four IDX files ``train-images-idx3-ubyte``,
  ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each
  plain or gzip-compressed (``.gz``);
- ``cifar10``: ``ROOT/cifar-10-batches-py/`` holding ``data_batch_1`` ... ``data_batch_5``,
  ``test_batch`` and ``batches.meta`` (the python version, as torchvision extracts it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

IDX_FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
"""The standard IDX file names of the training (True) and test (False) part."""

ALL_IDX_FILES = (*IDX_FILES[True], *IDX_FILES[False])

CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST_BATCHES = ("test_batch",)
CIFAR10_META = "batches.meta"
CIFAR10_FILES = (*CIFAR10_TRAIN_BATCHES, *CIFAR10_TEST_BATCHES, CIFAR10_META)

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
"""Where Debian's ``dataset-fashion-mnist`` package installs the four ``.gz`` files."""

FIX_HINT = (
    "pass the folder ROOT that contains one of these layouts with --data-root "
    "(lmc-bench verify / lmc-bench run / pytest claims --data-root ~/data)"
)


class DatasetNotFoundError(FileNotFoundError):
    """No accepted layout of a dataset exists under the data root."""


class CorruptDatasetError(ValueError):
    """A dataset file exists but is truncated, corrupt, or inconsistent with its partner file."""


@dataclass(frozen=True)
class IdxLayout:
    """Folder names under which one IDX dataset may live."""

    display_name: str
    torchvision_class: str
    """Name of torchvision's dataset class; its raw files live in ``ROOT/<class>/raw``."""
    plain_folders: tuple[str, ...]
    """Folders under ROOT (``"."`` = ROOT itself) holding the four IDX files."""
    system_folder_when_no_root: bool = False


IDX_LAYOUTS = {
    "mnist": IdxLayout("MNIST", "MNIST", ("mnist", ".")),
    "fashion_mnist": IdxLayout(
        "Fashion-MNIST", "FashionMNIST", ("fashion-mnist", "fashion_mnist"), system_folder_when_no_root=True
    ),
}


@dataclass(frozen=True)
class IdxFolder:
    """A folder holding the four IDX files of MNIST or Fashion-MNIST."""

    folder: Path
    files: dict[str, Path]
    """Standard file name -> the existing file (plain or ``.gz``)."""
    torchvision_root: Path | None
    """The root to hand torchvision's class when ``folder`` is ``ROOT/<class>/raw``, else None."""

    def split_files(self, train: bool) -> tuple[Path, Path]:
        """(images file, labels file) of the training or test part."""
        images, labels = IDX_FILES[train]
        return self.files[images], self.files[labels]

    @property
    def torchvision_readable(self) -> bool:
        """torchvision's MNIST classes read only uncompressed files under ``ROOT/<class>/raw``."""
        return self.torchvision_root is not None and all(p.suffix != ".gz" for p in self.files.values())


def find_idx_file(folder: Path, name: str) -> Path | None:
    """``folder/name`` if it exists, else ``folder/name.gz``, else None."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _idx_candidates(name: str, root: Path | None) -> list[tuple[Path, Path | None]]:
    """(folder, torchvision root or None) in the order they are tried."""
    layout = IDX_LAYOUTS[name]
    if root is None:
        return [(DEBIAN_FASHION_MNIST, None)] if layout.system_folder_when_no_root else []
    candidates = [(root / layout.torchvision_class / "raw", root)]
    candidates += [(root if sub == "." else root / sub, None) for sub in layout.plain_folders]
    return candidates


def _describe_missing(folder: Path, missing: list[str]) -> str:
    if not folder.is_dir():
        return "folder does not exist"
    return "missing " + ", ".join(missing)


def resolve_idx_folder(name: str, root: str | Path | None) -> IdxFolder:
    """The first accepted folder of ``name`` ("mnist" or "fashion_mnist") that holds all four files."""
    layout = IDX_LAYOUTS[name]
    root = _as_root(root)
    tried = []
    for folder, torchvision_root in _idx_candidates(name, root):
        found = {f: find_idx_file(folder, f) for f in ALL_IDX_FILES}
        missing = [f for f, path in found.items() if path is None]
        if not missing:
            return IdxFolder(folder, found, torchvision_root)
        tried.append(f"  {folder}/: {_describe_missing(folder, missing)}")
    expected = [f"  ROOT/{layout.torchvision_class}/raw/ (torchvision)"]
    expected += [f"  ROOT/{sub}/" if sub != "." else "  ROOT/ itself" for sub in layout.plain_folders]
    if layout.system_folder_when_no_root:
        debian = f"  {DEBIAN_FASHION_MNIST}/ when no data root is given (Debian package dataset-fashion-mnist)"
        expected.append(debian)
    files = ", ".join(ALL_IDX_FILES)
    where = "no data root was given" if root is None else f"not found under data root {root}"
    message = [
        f"{layout.display_name}: {where}.",
        f"Expected one of these folders, holding the four IDX files {files} (each plain or .gz):",
        *expected,
    ]
    if tried:
        message += ["Tried:", *tried]
    message.append(f"Fix: {FIX_HINT}.")
    raise DatasetNotFoundError("\n".join(message))


def resolve_cifar10_folder(root: str | Path | None) -> Path:
    """``ROOT/cifar-10-batches-py`` holding the five training batches, the test batch and the meta file."""
    root = _as_root(root)
    expected = (
        f"Expected this folder (the CIFAR-10 python version):\n"
        f"  ROOT/{CIFAR10_FOLDER}/ holding {', '.join(CIFAR10_FILES)}"
    )
    if root is None:
        raise DatasetNotFoundError(f"CIFAR-10: no data root was given.\n{expected}\nFix: {FIX_HINT}.")
    folder = root / CIFAR10_FOLDER
    missing = [f for f in CIFAR10_FILES if not (folder / f).is_file()]
    if missing:
        raise DatasetNotFoundError(
            f"CIFAR-10: not found under data root {root}.\n{expected}\n"
            f"Tried:\n  {folder}/: {_describe_missing(folder, missing)}\nFix: {FIX_HINT}."
        )
    return folder


def _as_root(root: str | Path | None) -> Path | None:
    return None if root is None else Path(root).expanduser()
