"""Training-set partitions of Table II (Section III-B).

Both functions return two index arrays into the training set, drawn at random (Section III-B)
from a seeded generator: each class's images are shuffled before they are divided, so a split is
fixed by its seed. The covariate-shift split is laid out *class-aligned* (``labels[a][i] == labels[b][i]`` for every i), so that one shuffle puts the
same label at the same batch position in both loaders (Appendix B, "same" SGD noise).
"""

from __future__ import annotations

import numpy as np


def _as_labels(labels) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError(f"labels must be a non-empty 1-D array, got shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0:
        raise ValueError("labels must be non-negative integers")
    return labels.astype(np.int64)


def _shuffled_classes(labels: np.ndarray, seed: int) -> list[np.ndarray]:
    """Per class (in increasing label order), its indices in a random order drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    return [rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)]


def split_covariate_shift(labels, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """50/50 split at random: each subset gets half of every class; a class's odd image is dropped.

    Each class's images are shuffled (generator seeded with ``seed``); the first half goes to
    subset 1, the second to subset 2. Both subsets are ordered by (rank within class, class), so
    position i holds the same class in both. On MNIST this gives 29,997 images per subset, on
    CIFAR-10 25,000 (sum over classes of floor(count / 2)).
    """
    labels = _as_labels(labels)
    first, second = [], []
    for idx in _shuffled_classes(labels, seed):
        half = len(idx) // 2
        first.append(idx[:half])
        second.append(idx[half : 2 * half])
    return _interleave_by_class(first), _interleave_by_class(second)


def _interleave_by_class(per_class: list[np.ndarray]) -> np.ndarray:
    """Order as class 0 #0, class 1 #0, ..., class 0 #1, ...: a label sequence that does not
    depend on which subset it came from (both subsets hold the same per-class counts)."""
    longest = max(len(p) for p in per_class)
    order = []
    for rank in range(longest):
        order.extend(int(p[rank]) for p in per_class if rank < len(p))
    return np.asarray(order, dtype=np.int64)


def split_label_imbalance(labels, x: float = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """x/(100-x) split at random: subset 1 holds x % of each class 0-4 and (100-x) % of each class
    5-9 (classes in the lower half of the label range, generally), drawn from each class's shuffled
    images (generator seeded with ``seed``); subset 2 the complement. Subsets in dataset order."""
    if not 0 < x < 100:
        raise ValueError(f"label-imbalance percentage x must lie in (0, 100), got {x}")
    labels = _as_labels(labels)
    classes = np.unique(labels)
    lower = set(classes[: len(classes) // 2].tolist())
    first, second = [], []
    for c, idx in zip(classes, _shuffled_classes(labels, seed)):
        share = x if c in lower else 100 - x
        cut = int(round(len(idx) * share / 100))
        first.append(idx[:cut])
        second.append(idx[cut:])
    return np.sort(np.concatenate(first)), np.sort(np.concatenate(second))
