"""The official BigEarthNet v1.0 patch lists and the real example patches that the PyPI package
``bigearthnet-common`` ships as data files.

Read with :mod:`importlib.resources`: only the package's trivial ``__init__`` runs, its modules
(which need an old ``fastcore``/``click``) are never imported.

- ``train.csv.bz2``, ``val.csv.bz2``, ``test.csv.bz2``: the official v1.0 split of the 19-class
  nomenclature, one patch name a line (269,695 / 123,723 / 125,866);
- ``patches_with_seasonal_snow.csv.bz2`` (61,707), ``patches_with_cloud_and_shadow.csv.bz2`` (9,280),
  ``patches_with_no_19_class_targets.csv.bz2`` (57): the patches BigEarthNet recommends dropping;
- ``BigEarthNet-S2-Example.tar.bz2``: six real v1.0 patches, all 12 bands at native size with their
  label JSONs (four in the official training split, one in the test split, one with seasonal snow).
"""

from __future__ import annotations

import bz2
import importlib.resources
import os
import shutil
import tarfile
import tempfile
from functools import lru_cache
from importlib.resources.abc import Traversable
from pathlib import Path

PACKAGE = "bigearthnet_common"
SPLIT_FILES = {"train": "train.csv.bz2", "validation": "val.csv.bz2", "test": "test.csv.bz2"}
DROP_FILES = {
    "seasonal snow": "patches_with_seasonal_snow.csv.bz2",
    "cloud or shadow": "patches_with_cloud_and_shadow.csv.bz2",
    "no 19-class label": "patches_with_no_19_class_targets.csv.bz2",
}
EXAMPLE_ARCHIVE = "BigEarthNet-S2-Example.tar.bz2"
EXAMPLE_FOLDER = "BigEarthNet-S2-Example"


def package_file(name: str) -> Traversable:
    """A data file of ``bigearthnet-common``; raises FileNotFoundError naming the fix."""
    try:
        resource = importlib.resources.files(PACKAGE) / name
    except ModuleNotFoundError:
        raise FileNotFoundError(
            "the official BigEarthNet lists and example patches come from the PyPI package bigearthnet-common, "
            "which is not installed; pip install bigearthnet-common (or write ROOT/train.csv, ROOT/val.csv and "
            "ROOT/test.csv yourself)") from None
    if not resource.is_file():
        raise FileNotFoundError(f"{resource}: missing from the installed bigearthnet-common; reinstall it "
                                "(pip install --force-reinstall bigearthnet-common)")
    return resource


@lru_cache(maxsize=None)
def official_list(name: str) -> frozenset[str]:
    """Patch names of one official ``.csv.bz2`` list (read once per process)."""
    text = bz2.decompress(package_file(name).read_bytes()).decode()
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


def official_split(split: str) -> frozenset[str]:
    """Patch names of an official v1.0 split: "train", "validation" or "test"."""
    return official_list(SPLIT_FILES[split])


def official_drops() -> dict[str, frozenset[str]]:
    """Reason -> patch names BigEarthNet recommends dropping (snow, cloud or shadow, no 19-class label)."""
    return {reason: official_list(name) for reason, name in DROP_FILES.items()}


def extract_example(destination: str | Path) -> Path:
    """Extract the six real example patches into ``destination/BigEarthNet-S2-Example`` (atomically:
    a temporary sibling, then a rename) and return that folder; an existing extraction is reused."""
    destination = Path(destination)
    target = destination / EXAMPLE_FOLDER
    if target.is_dir():
        return target
    destination.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=destination, prefix=".example-", suffix=".tmp"))
    try:
        with importlib.resources.as_file(package_file(EXAMPLE_ARCHIVE)) as archive, tarfile.open(archive, "r:bz2") as tar:
            tar.extractall(tmp, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
        os.replace(tmp / EXAMPLE_FOLDER, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
