"""Normalisation of uint8 images (Section IV-G, Fig. 10): "centered" or "[0,1]" ("unit")."""

from __future__ import annotations

import numpy as np
import torch


def channel_stats(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of uint8 images N x C x H x W, on the 0..1 scale."""
    x = images.astype(np.float64) / 255.0
    mean = x.mean(axis=(0, 2, 3))
    std = x.std(axis=(0, 2, 3))
    if np.any(std == 0):
        raise ValueError("a channel of the training images is constant: cannot centre it")
    return mean, std


def normalize(images: np.ndarray, mode: str, stats: tuple[np.ndarray, np.ndarray] | None = None) -> torch.Tensor:
    """float32 tensor: ``unit`` = x / 255; ``centered`` = (x / 255 - mean) / std with the
    training set's per-channel ``stats``."""
    x = torch.from_numpy(np.ascontiguousarray(images)).float().div_(255.0)
    if mode == "unit":
        return x
    if mode != "centered":
        raise ValueError(f"unknown normalization {mode!r}; expected 'centered' or 'unit'")
    if stats is None:
        raise ValueError("centered normalization needs the training set's channel statistics")
    mean, std = (torch.as_tensor(s, dtype=torch.float32).view(1, -1, 1, 1) for s in stats)
    return (x - mean) / std
