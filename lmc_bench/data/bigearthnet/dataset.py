"""``BigEarthNet``: the patches of one split of a BigEarthNet-S2 copy, read from its GeoTIFFs.

The reference reader: every item opens the patch's band files with rasterio. It is what
``lmc-bench data pack-bigearthnet`` packs, and the packed cache returns exactly its values; train
from the cache (:mod:`.cache`), which is orders of magnitude faster.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from .bands import parse_selection
from .labels import CLASSES_19, multi_hot
from .layout import Layout, canonical_split, detect_layout, scan_patches
from .raster import RESAMPLINGS, read_patch


def targets_of(label_names) -> np.ndarray:
    """float32 multi-hot matrix N x 19 (official class order) of label-name tuples."""
    if len(label_names) == 0:
        return np.zeros((0, len(CLASSES_19)), dtype=np.float32)
    return np.stack([multi_hot(names) for names in label_names])


class BigEarthNet(Dataset):
    """BigEarthNet-S2 (v2.0 reBEN or v1.0, see :mod:`.layout`) as a torch Dataset.

    ``split``: "train", "validation" (or "val") or "test". ``bands``: one band ("B08"), a
    combination ("B4B3B2", "natural_color") or a list of band names (:mod:`.bands`). Items are
    ``(float32 C x 120 x 120 raw reflectance values, float32 multi-hot of the 19 classes)``; 20 m and
    60 m bands are resampled to 120 x 120 with ``resampling`` ("bilinear" or "nearest").
    """

    def __init__(self, root: str | Path, split: str, bands, version: str = "auto", resampling: str = "bilinear"):
        if resampling not in RESAMPLINGS:
            raise ValueError(f"unknown resampling {resampling!r}; expected one of {', '.join(RESAMPLINGS)}")
        self.layout: Layout = detect_layout(root, version)
        self.split = canonical_split(split)
        self.bands = parse_selection(bands)
        self.resampling = resampling
        index = scan_patches(self.layout, (self.split,))
        self.patch_ids: list[str] = index["patch_id"].tolist()
        self.label_names: list[tuple[str, ...]] = index["labels"].tolist()
        self.targets = targets_of(self.label_names)

    @property
    def version(self) -> str:
        return self.layout.version

    def __len__(self) -> int:
        return len(self.patch_ids)

    def read(self, index: int) -> np.ndarray:
        """uint16 C x 120 x 120 of patch ``index`` (what the packed cache stores)."""
        patch_id = self.patch_ids[index]
        return read_patch(self.layout.patch_folder(patch_id), patch_id, self.bands, self.resampling)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = torch.from_numpy(self.read(index).astype(np.float32))
        return image, torch.from_numpy(self.targets[index].copy())
