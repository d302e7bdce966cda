"""``load_dataset``: one entry point for every dataset the suite reads (Table II's MNIST and
CIFAR-10, Fashion-MNIST, and the bundled real samples). Nothing is ever written into a data root."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .bundled import load_digits_bundled, load_mnist_bundled
from .cifar import load_cifar10
from .mnist import load_idx_dataset
from .roots import IDX_LAYOUTS, resolve_cifar10_folder

BUNDLED = {"mnist_bundled": load_mnist_bundled, "digits_bundled": load_digits_bundled}
DATASETS = (*IDX_LAYOUTS, "cifar10", *BUNDLED)


def load_dataset(
    name: str, root: str | Path | None = None, train: bool = True, *, verify_checksums: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 images N x C x H x W, int64 labels N) of the training or test part of ``name``.

    ``root`` is the ``--data-root`` folder (layouts in :mod:`.roots`); the bundled samples need
    none. ``verify_checksums=False`` skips CIFAR-10's MD5 check and exists only for the tiny
    fixture roots of the tests.
    """
    if name in BUNDLED:
        return BUNDLED[name](train)
    if name in IDX_LAYOUTS:
        return load_idx_dataset(name, root, train)
    if name == "cifar10":
        return load_cifar10(resolve_cifar10_folder(root), train, verify_checksums)
    raise ValueError(f"unknown dataset {name!r}; expected one of {', '.join(DATASETS)}")
