"""Multilayer perceptrons of Table V (Appendix C): one (L1) or three (L3) hidden layers, optionally
with BatchNorm (BN) and dropout (BN&D)."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn


class MLP(nn.Sequential):
    """Flatten, then per hidden width ``Linear -> [BatchNorm1d] -> ReLU -> [Dropout]``, then
    ``Linear -> LogSoftmax``. All Linear layers have a bias; BN is affine.

    Counts (Table V): W587 on 784 inputs 466,675 (467,849 with BN); W256-512-256 466,442;
    W126 on 3,072 inputs 388,468; W110-256-110 395,826.
    """

    def __init__(
        self,
        in_features: int,
        widths: Sequence[int],
        n_classes: int,
        bn: bool = False,
        dropout: float | None = None,
    ):
        layers: list[nn.Module] = [nn.Flatten()]
        previous = in_features
        for width in widths:
            layers.append(nn.Linear(previous, width))
            if bn:
                layers.append(nn.BatchNorm1d(width))
            layers.append(nn.ReLU())
            if dropout is not None:
                layers.append(nn.Dropout(dropout))
            previous = width
        layers += [nn.Linear(previous, n_classes), nn.LogSoftmax(dim=1)]
        super().__init__(*layers)
