"""Tensors of one experiment's data: normalised training set, the two subsets, the test set."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from ..config import DataSpec
from .loading import load_dataset
from .normalize import channel_stats, normalize
from .shifts import split_covariate_shift, split_label_imbalance


@dataclass(frozen=True)
class PreparedData:
    """Normalised float32 images and int64 labels on the CPU. For the domain shift the images are a
    memory-mapped :class:`~lmc_bench.data.bigearthnet.images.PatchImages` read batch by batch, and the
    labels float32 multi-hot rows."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    subset_a: torch.Tensor
    """Indices into the training set of subset 1 (copy A)."""
    subset_b: torch.Tensor
    """Indices of subset 2 (copy B); equal to subset 1 for shift "none"."""
    test_x: torch.Tensor
    test_y: torch.Tensor

    def subset(self, copy: int) -> tuple[torch.Tensor, torch.Tensor]:
        idx = self.subset_a if copy == 0 else self.subset_b
        images = self.train_x[idx] if isinstance(self.train_x, torch.Tensor) else self.train_x.take(idx)
        return images, self.train_y[idx]


def split_indices(labels: np.ndarray, spec: DataSpec) -> tuple[np.ndarray, np.ndarray]:
    """The two training subsets of ``spec.shift`` (Table II)."""
    if spec.shift == "label_imbalance":
        return split_label_imbalance(labels, spec.imbalance_x, seed=spec.split_seed)
    first, second = split_covariate_shift(labels, seed=spec.split_seed)
    return (first, first) if spec.shift == "none" else (first, second)


@lru_cache(maxsize=4)
def prepare_data(spec: DataSpec, root: str | None = None) -> PreparedData:
    """Load, normalise with training-set statistics, and split (cached per process)."""
    if spec.shift == "domain":
        from .bigearthnet.domain import domain_shift_data

        return PreparedData(**domain_shift_data(spec, root))
    train_images, train_labels = load_dataset(spec.dataset, root, train=True)
    test_images, test_labels = load_dataset(spec.dataset, root, train=False)
    stats = channel_stats(train_images) if spec.normalization == "centered" else None
    first, second = split_indices(train_labels, spec)
    return PreparedData(
        train_x=normalize(train_images, spec.normalization, stats),
        train_y=torch.from_numpy(train_labels),
        subset_a=torch.from_numpy(first),
        subset_b=torch.from_numpy(second),
        test_x=normalize(test_images, spec.normalization, stats),
        test_y=torch.from_numpy(test_labels),
    )

