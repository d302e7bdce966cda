"""Where the patches of a BigEarthNet-S2 copy live on disk, and which split and labels each has.

Accepted layouts under ``ROOT`` (``version="auto"`` tries v2, then v1):

- **v2.0 (reBEN)**: ``ROOT/metadata.parquet`` (columns ``patch_id``, ``labels`` = the 19-class names,
  ``split`` in train / validation / test; ``contains_seasonal_snow`` and
  ``contains_cloud_or_shadow`` when present drop the flagged rows) and the patches in
  ``ROOT/BigEarthNet-S2/<tile>/<patch_id>/<patch_id>_B02.tif`` ..., where ``<tile>`` is the patch id
  without its last two ``_``-fields; the flat ``ROOT/BigEarthNet-S2/<patch_id>/`` is read too.
- **v1.0**: patch folders ``<patch>/`` holding ``<patch>_B01.tif`` ... ``<patch>_B12.tif`` and
  ``<patch>_labels_metadata.json`` (43 CORINE names, mapped to 19 classes by :mod:`.labels`), in
  ``ROOT/BigEarthNet-v1.0/`` or directly in ``ROOT``. Splits: ``ROOT/train.csv``, ``ROOT/val.csv``,
  ``ROOT/test.csv`` (one patch name a line) when present, else the official lists of
  :mod:`.official`. The official snow, cloud-or-shadow and no-19-class lists are always dropped.

Dropped patches are counted in the log (logger ``lmc_bench.data.bigearthnet``); nothing is written
into ROOT.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..roots import CorruptDatasetError, DatasetNotFoundError
from . import official
from .labels import ACCEPTED_19, ACCEPTED_43, UnknownLabelError, check_19_class_labels, map_corine_labels

log = logging.getLogger("lmc_bench.data.bigearthnet")

VERSIONS = ("auto", "v2", "v1")
SPLITS = ("train", "validation", "test")
SPLIT_ALIASES = {"val": "validation", "valid": "validation"}
V2_METADATA = "metadata.parquet"
V2_PATCHES = "BigEarthNet-S2"
V2_REQUIRED_COLUMNS = ("patch_id", "labels", "split")
V2_DROP_COLUMNS = {"contains_seasonal_snow": "seasonal snow", "contains_cloud_or_shadow": "cloud or shadow"}
V1_FOLDER = "BigEarthNet-v1.0"
V1_SPLIT_LISTS = {"train": "train.csv", "validation": "val.csv", "test": "test.csv"}
V1_PATCH_NAME = re.compile(r"^S2[AB]_MSIL2A_\d{8}T\d+_\d+_\d+$")

LAYOUTS_HELP = (
    "Accepted layouts:\n"
    f"  v2.0 (reBEN): ROOT/{V2_METADATA} and ROOT/{V2_PATCHES}/<tile>/<patch_id>/<patch_id>_B02.tif ... "
    f"(or ROOT/{V2_PATCHES}/<patch_id>/)\n"
    f"  v1.0: ROOT/{V1_FOLDER}/<patch>/ or ROOT/<patch>/ holding <patch>_B01.tif ... <patch>_B12.tif and "
    "<patch>_labels_metadata.json; splits from ROOT/train.csv, ROOT/val.csv, ROOT/test.csv or the official lists"
)


def canonical_split(split: str) -> str:
    split = SPLIT_ALIASES.get(split, split)
    if split not in SPLITS:
        raise ValueError(f"unknown BigEarthNet split {split!r}; expected one of {', '.join(SPLITS)} (or 'val')")
    return split


@dataclass(frozen=True)
class Layout:
    """One copy of BigEarthNet-S2 on disk."""

    version: str
    root: Path
    patches_dir: Path

    def patch_folder(self, patch_id: str) -> Path:
        """The folder of a patch; raises DatasetNotFoundError naming where it was looked for."""
        candidates = [self.patches_dir / patch_id]
        if self.version == "v2":
            candidates.insert(0, self.patches_dir / patch_id.rsplit("_", 2)[0] / patch_id)
        for folder in candidates:
            if folder.is_dir():
                return folder
        listed_in = self.root / V2_METADATA if self.version == "v2" else "the split list"
        raise DatasetNotFoundError(
            f"patch {patch_id} is listed in {listed_in} but has no folder (looked for "
            f"{' and '.join(map(str, candidates))}); re-extract the patches of BigEarthNet-S2 into "
            f"{self.patches_dir}, or remove the patch from {listed_in}")


def detect_layout(root: str | Path, version: str = "auto") -> Layout:
    """The layout of the BigEarthNet-S2 copy at ``root`` (``version`` "auto", "v2" or "v1")."""
    if version not in VERSIONS:
        raise ValueError(f"unknown BigEarthNet version {version!r}; expected one of {', '.join(VERSIONS)}")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetNotFoundError(f"BigEarthNet: {root} is not a folder.\n{LAYOUTS_HELP}")
    if version in ("auto", "v2") and (root / V2_METADATA).is_file():
        patches = root / V2_PATCHES
        if not patches.is_dir():
            raise DatasetNotFoundError(f"BigEarthNet v2.0: {root / V2_METADATA} exists but {patches}/ does not; "
                                       f"extract BigEarthNet-S2 next to the metadata.\n{LAYOUTS_HELP}")
        return Layout("v2", root, patches)
    if version in ("auto", "v1"):
        for folder in (root / V1_FOLDER, root):
            if folder.is_dir() and any(_is_v1_patch(p) for p in folder.iterdir()):
                return Layout("v1", root, folder)
    wanted = {"auto": "BigEarthNet v2.0 or v1.0", "v2": "BigEarthNet v2.0", "v1": "BigEarthNet v1.0"}[version]
    raise DatasetNotFoundError(f"{wanted}: not found under {root}.\n{LAYOUTS_HELP}")


def _is_v1_patch(path: Path) -> bool:
    return bool(V1_PATCH_NAME.match(path.name)) and path.is_dir()


def scan_patches(layout: Layout, splits: tuple[str, ...] = SPLITS) -> pd.DataFrame:
    """Patches of ``splits``: columns ``patch_id``, ``split`` and ``labels`` (tuple of 19-class names,
    official order), sorted by split (train, validation, test) then patch id. Dropped patches are
    counted in the log."""
    splits = tuple(canonical_split(s) for s in splits)
    frame = _scan_v2(layout, splits) if layout.version == "v2" else _scan_v1(layout, splits)
    frame["split"] = pd.Categorical(frame["split"], categories=SPLITS, ordered=True)
    frame = frame.sort_values(["split", "patch_id"], kind="stable").reset_index(drop=True)
    frame["split"] = frame["split"].astype(str)
    return frame


def _log_drops(counts: dict[str, int], where: Path) -> None:
    dropped = {reason: n for reason, n in counts.items() if n}
    if dropped:
        log.info("BigEarthNet %s: dropped %s", where,
                 ", ".join(f"{n} patch{'es' if n != 1 else ''} with {r}" for r, n in dropped.items()))


def _scan_v2(layout: Layout, splits: tuple[str, ...]) -> pd.DataFrame:
    path = layout.root / V2_METADATA
    try:
        columns = _parquet_columns(path)
    except Exception as error:  # pyarrow raises several types for unreadable files
        raise CorruptDatasetError(f"{path}: not a readable parquet file ({error}); re-download metadata.parquet of "
                                  "BigEarthNet v2.0") from None
    missing = [c for c in V2_REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise CorruptDatasetError(
            f"{path}: missing column(s) {', '.join(missing)}; BigEarthNet v2.0 metadata has patch_id, labels "
            f"(list of 19-class names) and split (train / validation / test); re-download metadata.parquet")
    wanted = [*V2_REQUIRED_COLUMNS, *(c for c in V2_DROP_COLUMNS if c in columns)]
    frame = pd.read_parquet(path, columns=wanted)
    unknown_splits = sorted(set(frame["split"].astype(str)) - set(SPLITS))
    if unknown_splits:
        raise CorruptDatasetError(f"{path}: column split holds {unknown_splits}; expected train, validation or test")
    counts = {}
    for column, reason in V2_DROP_COLUMNS.items():
        if column in frame:
            flagged = frame[column].fillna(False).astype(bool)
            counts[reason] = int(flagged.sum())
            frame = frame[~flagged]
    frame = frame[frame["split"].isin(splits)]
    labels = []
    for patch_id, names in zip(frame["patch_id"], frame["labels"]):
        try:
            labels.append(tuple(check_19_class_labels(_as_names(names))))
        except UnknownLabelError as error:
            raise CorruptDatasetError(f"{path}: patch {patch_id}: {error}; expected {ACCEPTED_19}") from None
    frame = pd.DataFrame({"patch_id": frame["patch_id"].astype(str).to_numpy(), "split": frame["split"].astype(str).to_numpy(),
                          "labels": labels})
    empty = frame["labels"].map(len) == 0
    counts["no 19-class label"] = int(empty.sum())
    _log_drops(counts, path)
    return frame[~empty]


def _parquet_columns(path: Path) -> set[str]:
    import pyarrow.parquet as pq

    return set(pq.read_schema(path).names)


def _as_names(value) -> list[str]:
    if value is None or isinstance(value, str):
        raise UnknownLabelError(f"labels must be a list of class names, got {value!r}")
    return [str(v) for v in np.asarray(value, dtype=object).ravel()]


def _split_lists(layout: Layout, splits: tuple[str, ...]) -> dict[str, tuple[list[str], str]]:
    """Split -> (patch names, where the list came from)."""
    local = {s: layout.root / name for s, name in V1_SPLIT_LISTS.items()}
    if any(p.is_file() for p in local.values()):
        lists = {}
        for split in splits:
            path = local[split]
            if not path.is_file():
                raise DatasetNotFoundError(
                    f"BigEarthNet v1.0: {layout.root} has split lists but no {path.name} for split {split!r}; "
                    f"write {path} (one patch name a line), or remove the lists there to use the official ones")
            lists[split] = ([line.strip() for line in path.read_text().splitlines() if line.strip()], str(path))
        return lists
    return {s: (sorted(official.official_split(s)), f"the official {s} list of bigearthnet-common") for s in splits}


def _scan_v1(layout: Layout, splits: tuple[str, ...]) -> pd.DataFrame:
    drops = official.official_drops()
    counts = {reason: 0 for reason in drops}
    rows = []
    for split, (names, source) in _split_lists(layout, splits).items():
        for name in names:
            reason = next((r for r, listed in drops.items() if name in listed), None)
            if reason is not None:
                counts[reason] += 1
                continue
            folder = layout.patches_dir / name
            if not folder.is_dir():
                raise DatasetNotFoundError(
                    f"BigEarthNet v1.0: {source} names patch {name}, which has no folder {folder}; restore the "
                    f"patch (re-extract BigEarthNet-v1.0), or list only the patches you have in "
                    f"{layout.root}/train.csv, val.csv and test.csv")
            rows.append((name, split, tuple(_v1_labels(folder, name))))
    frame = pd.DataFrame(rows, columns=["patch_id", "split", "labels"])
    empty = frame["labels"].map(len) == 0
    counts["no 19-class label"] += int(empty.sum())
    _log_drops(counts, layout.patches_dir)
    return frame[~empty]


def _v1_labels(folder: Path, name: str) -> list[str]:
    path = folder / f"{name}_labels_metadata.json"
    try:
        metadata = json.loads(path.read_text())
    except FileNotFoundError:
        raise DatasetNotFoundError(f"{path}: missing; every v1.0 patch folder holds its label JSON; "
                                   "re-extract the patch") from None
    except json.JSONDecodeError as error:
        raise CorruptDatasetError(f"{path}: not valid JSON ({error}); re-extract the patch") from None
    if not isinstance(metadata, dict) or not isinstance(metadata.get("labels"), list):
        raise CorruptDatasetError(f"{path}: expected a JSON object with a list 'labels' of CORINE class names")
    try:
        return map_corine_labels(metadata["labels"])
    except UnknownLabelError as error:
        raise CorruptDatasetError(f"{path}: {error}; expected {ACCEPTED_43}") from None
