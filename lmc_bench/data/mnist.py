"""MNIST (Table II) and Fashion-MNIST from a torchvision data root or a plain IDX folder.

A torchvision root with the four uncompressed files (``ROOT/MNIST/raw/...``) is read by
torchvision's own class with ``download=False``, after our header checks; every other accepted
folder (``.gz`` files, a plain folder, Debian's Fashion-MNIST) is read by :mod:`.idx`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .idx import IMAGES_MAGIC, LABELS_MAGIC, check_idx_file, check_same_count, read_idx_pair
from .roots import IDX_LAYOUTS, CorruptDatasetError, IdxFolder, resolve_idx_folder

N_CLASSES = 10


def load_idx_dataset(name: str, root: str | Path | None, train: bool) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 images N x 1 x 28 x 28, int64 labels N) of "mnist" or "fashion_mnist"."""
    folder = resolve_idx_folder(name, root)
    images_path, labels_path = folder.split_files(train)
    if folder.torchvision_readable:
        images, labels = _read_with_torchvision(name, folder, train)
    else:
        images, labels = read_idx_pair(images_path, labels_path)
    if labels.size and not 0 <= labels.min() <= labels.max() < N_CLASSES:
        raise CorruptDatasetError(
            f"{labels_path}: labels must lie in 0..{N_CLASSES - 1}, found {labels.min()}..{labels.max()}"
        )
    return images, labels


def _read_with_torchvision(name: str, folder: IdxFolder, train: bool) -> tuple[np.ndarray, np.ndarray]:
    import torchvision.datasets

    images_path, labels_path = folder.split_files(train)
    n_images = check_idx_file(images_path, IMAGES_MAGIC)[0]
    n_labels = check_idx_file(labels_path, LABELS_MAGIC)[0]
    check_same_count(images_path, n_images, labels_path, n_labels)
    dataset_class = getattr(torchvision.datasets, IDX_LAYOUTS[name].torchvision_class)
    dataset = dataset_class(str(folder.torchvision_root), train=train, download=False)
    return dataset.data.numpy()[:, None].copy(), dataset.targets.numpy().astype(np.int64)
