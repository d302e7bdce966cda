"""``lmc-bench data status``: per dataset, found / missing / corrupt under a data root, and the
layout expected.

MNIST, Fashion-MNIST and CIFAR-10 are checked by reading them with the suite's own readers (so
"found" means the claim tests can read them; CIFAR-10's MD5 sums are verified). BigEarthNet is
checked by the presence of its layout's files (:func:`bigearthnet_status`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .loading import load_dataset
from .roots import (
    ALL_IDX_FILES,
    CIFAR10_FILES,
    CIFAR10_FOLDER,
    IDX_LAYOUTS,
    CorruptDatasetError,
    DatasetNotFoundError,
    resolve_cifar10_folder,
    resolve_idx_folder,
)
from .sizes import TEST_SIZES, TRAIN_CLASS_COUNTS

STATUS_DATASETS = ("mnist", "fashion_mnist", "cifar10", "bigearthnet")
FOUND, MISSING, CORRUPT = "found", "missing", "corrupt"

BIGEARTHNET_V2_METADATA = "metadata.parquet"
BIGEARTHNET_V2_FOLDER = "BigEarthNet-S2"
BIGEARTHNET_V1_FOLDER = "BigEarthNet-v1.0"


@dataclass(frozen=True)
class DatasetStatus:
    name: str
    state: str
    """"found", "missing" or "corrupt"."""
    detail: str
    """Where it was found, or what is missing or wrong."""
    layout: str
    """The layouts accepted under the data root."""


def expected_layout(name: str) -> str:
    if name in IDX_LAYOUTS:
        layout = IDX_LAYOUTS[name]
        folders = [f"ROOT/{layout.torchvision_class}/raw/"] + [f"ROOT/{f}/" if f != "." else "ROOT/" for f in layout.plain_folders]
        return f"{' or '.join(folders)} holding {', '.join(ALL_IDX_FILES)} (each plain or .gz)"
    if name == "cifar10":
        return f"ROOT/{CIFAR10_FOLDER}/ holding {', '.join(CIFAR10_FILES)} (the python version)"
    if name == "bigearthnet":
        return (f"v2: ROOT/{BIGEARTHNET_V2_METADATA} and ROOT/{BIGEARTHNET_V2_FOLDER}/ (tile folders of patch folders); "
                f"v1: ROOT/{BIGEARTHNET_V1_FOLDER}/ (one folder per patch)")
    raise ValueError(f"unknown dataset {name!r}; expected one of {', '.join(STATUS_DATASETS)}")


def dataset_status(name: str, root: str | Path | None) -> DatasetStatus:
    """Status of ``name`` under ``root`` (None: no data root, where only Debian's Fashion-MNIST is looked for)."""
    layout = expected_layout(name)
    if name == "bigearthnet":
        state, detail = bigearthnet_status(root)
        return DatasetStatus(name, state, detail, layout)
    try:
        n_train = len(load_dataset(name, root, train=True)[1])
        n_test = len(load_dataset(name, root, train=False)[1])
    except DatasetNotFoundError as error:
        return DatasetStatus(name, MISSING, _missing_detail(name, error), layout)
    except CorruptDatasetError as error:
        return DatasetStatus(name, CORRUPT, str(error), layout)
    folder = resolve_cifar10_folder(root) if name == "cifar10" else resolve_idx_folder(name, root).folder
    detail = f"{n_train:,} training / {n_test:,} test images in {folder}"
    official = (sum(TRAIN_CLASS_COUNTS[name]), TEST_SIZES[name])
    if (n_train, n_test) != official:
        detail += f" (the official set has {official[0]:,} / {official[1]:,})"
    return DatasetStatus(name, FOUND, detail, layout)


def _missing_detail(name: str, error: DatasetNotFoundError) -> str:
    """The error's first line, and the folders tried that hold some of the files but not all."""
    lines = str(error).splitlines()
    n_files = len(CIFAR10_FILES if name == "cifar10" else ALL_IDX_FILES)
    partial = [line.strip() for line in lines
               if ": missing " in line and len(line.split(": missing ", 1)[1].split(", ")) < n_files]
    return " ".join([lines[0], *(f"Incomplete: {line}." for line in partial)])


def bigearthnet_status(root: str | Path | None) -> tuple[str, str]:
    """(state, detail) of BigEarthNet's layout under ``root``, by the presence of its files alone
    (v2: the metadata table and the Sentinel-2 folder; v1: the patch folders)."""
    if root is None:
        return MISSING, "no data root was given"
    root = Path(root).expanduser()
    metadata, s2, v1 = root / BIGEARTHNET_V2_METADATA, root / BIGEARTHNET_V2_FOLDER, root / BIGEARTHNET_V1_FOLDER
    if metadata.is_file() and _has_subfolder(s2):
        return FOUND, f"v2 layout: {metadata} and {s2}/"
    if _has_subfolder(v1):
        return FOUND, f"v1 layout: patch folders in {v1}/"
    if metadata.exists() or s2.exists():
        problems = [f"{metadata} is missing" if not metadata.is_file() else "",
                    f"{s2}/ is missing or holds no tile folders" if not _has_subfolder(s2) else ""]
        return CORRUPT, "incomplete v2 layout: " + "; ".join(p for p in problems if p)
    if v1.exists():
        return CORRUPT, f"incomplete v1 layout: {v1}/ holds no patch folders"
    return MISSING, f"neither layout under {root}"


def _has_subfolder(folder: Path) -> bool:
    return folder.is_dir() and any(child.is_dir() for child in folder.iterdir())
