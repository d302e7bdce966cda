"""Standardised images read on demand from the packed cache, with bounded memory.

:class:`PatchImages` stands where the other datasets hold one float32 tensor of all images: an
image set of N rows, each a cache row in one band selection, read from the memory-mapped uint16
arrays and standardised per band ((x − mean) / std with the training split's statistics) only when
indexed. The process holds the row numbers and one batch; the operating system's page cache holds
whatever of the arrays fits in free memory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset

from .bands import PATCH_SIZE

MIN_PATCHES_FOR_WORKERS = 8192
"""Smaller image sets are read in the training process (starting workers would cost more)."""
MAX_LOADER_WORKERS = 8

_OPEN: dict[str, np.ndarray] = {}


def _memmap(path: str) -> np.ndarray:
    """The read-only memory map of a band file, opened once per process."""
    if path not in _OPEN:
        _OPEN[path] = np.load(path, mmap_mode="r")
    return _OPEN[path]


@dataclass(frozen=True)
class BandSet:
    """The band files of one selection (one per channel) and their standardisation (float32, per band)."""

    paths: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]

    def read(self, rows: np.ndarray) -> np.ndarray:
        """float32 len(rows) x C x 120 x 120, standardised; rows are read in increasing order."""
        order = np.argsort(rows, kind="stable")
        out = np.empty((len(rows), len(self.paths), PATCH_SIZE, PATCH_SIZE), dtype=np.float32)
        for channel, path in enumerate(self.paths):
            block = _memmap(path)[rows[order]]
            plane = np.subtract(block, np.float32(self.mean[channel]), dtype=np.float32)
            plane /= np.float32(self.std[channel])
            out[order, channel] = plane
        return out


class PatchImages:
    """N standardised images; row i is cache row ``rows[i]`` in band selection ``band_sets[groups[i]]``.

    Indexing with an int gives one C x 120 x 120 tensor; with a slice, an index array or tensor,
    an n x C x 120 x 120 tensor (read now). :meth:`take` gives a view (read later)."""

    def __init__(self, band_sets: list[BandSet], groups: np.ndarray, rows: np.ndarray):
        if len({len(s.paths) for s in band_sets}) != 1:
            raise ValueError("all band selections of one image set need the same number of bands")
        self.band_sets = list(band_sets)
        self.groups = np.asarray(groups, dtype=np.int64)
        self.rows = np.asarray(rows, dtype=np.int64)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (len(self.rows), len(self.band_sets[0].paths), PATCH_SIZE, PATCH_SIZE)

    def __len__(self) -> int:
        return len(self.rows)

    def take(self, indices) -> "PatchImages":
        indices = _as_positions(indices)
        return PatchImages(self.band_sets, self.groups[indices], self.rows[indices])

    def __getitem__(self, key) -> torch.Tensor:
        if isinstance(key, (int, np.integer)):
            return self[np.array([key])][0]
        positions = np.arange(len(self))[key] if isinstance(key, slice) else _as_positions(key)
        out = np.empty((len(positions), *self.shape[1:]), dtype=np.float32)
        groups = self.groups[positions]
        for g, band_set in enumerate(self.band_sets):
            where = np.flatnonzero(groups == g)
            if len(where):
                out[where] = band_set.read(self.rows[positions[where]])
        return torch.from_numpy(out)

    def batches(self, labels: torch.Tensor, order: list[int], batch_size: int) -> DataLoader:
        """(images, labels) batches visiting the rows in ``order`` (the last partial batch kept), read
        by worker processes when the set is large."""
        return DataLoader(_Batches(self, labels), batch_size=None, num_workers=self._workers(),
                          sampler=BatchSampler(order, batch_size, drop_last=False))

    def in_order(self, batch_size: int) -> DataLoader:
        """The images in row order, ``batch_size`` at a time (evaluation), read like :meth:`batches`."""
        return DataLoader(_Batches(self, None), batch_size=None, num_workers=self._workers(),
                          sampler=BatchSampler(range(len(self)), batch_size, drop_last=False))

    def _workers(self) -> int:
        return 0 if len(self) < MIN_PATCHES_FOR_WORKERS else min(MAX_LOADER_WORKERS, os.cpu_count() or 1)


def _as_positions(indices) -> np.ndarray:
    if isinstance(indices, torch.Tensor):
        indices = indices.cpu().numpy()
    positions = np.asarray(indices)
    if positions.dtype == bool:
        return np.flatnonzero(positions)
    return positions.astype(np.int64, copy=False).reshape(-1)


class _Batches(Dataset):
    """Map-style dataset whose items are whole batches: a list of positions -> (images, labels), or
    images alone when there are no labels."""

    def __init__(self, images: PatchImages, labels: torch.Tensor | None):
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, positions: list[int]):
        index = np.asarray(positions, dtype=np.int64)
        if self.labels is None:
            return self.images[index]
        return self.images[index], self.labels[torch.from_numpy(index)]
