"""Floating-point work of a run, from the model's FLOPs per image as ``torch.utils.flop_counter``
measures them.

Per image: ``forward`` F (evaluation mode) and ``train_step`` T, one training step's forward and
backward pass (weight gradients everywhere, input gradients of every layer but the first: about
2F for an MLP, whose first layer dominates, about 3F for a ResNet). The counter counts matrix
products and convolutions; BatchNorm, activations, pooling and Adam's element-wise update are not
counted, as is usual.

A run (Algorithm 1) trains both copies for E epochs on their subsets (N_A, N_B images), evaluates
each copy on the test set (N_test) after every epoch, then evaluates the L points Θ(λ) of the path
on the test set, on both subsets when ``eval.on_train`` is set, and re-estimates BatchNorm
statistics on the subsets' union when ``eval.bn_mode`` is "recompute"::

    train = T · E · (N_A + N_B)
    eval  = F · (2 · E · N_test + L · N_test [+ L · (N_A + N_B)] [+ L · N_union])
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from .config import DataSpec, RunSpec
from .data.sizes import TEST_SIZES, TRAIN_CLASS_COUNTS
from .models import build_model, model_info

PROBE_BATCH = 2
"""Images per measured pass (two, so that BatchNorm in training mode sees a batch)."""


@dataclass(frozen=True)
class ModelFlops:
    """FLOPs per image of one model on one dataset's input shape."""

    forward: float
    train_step: float


@lru_cache(maxsize=None)
def model_flops(model: str, dataset: str) -> ModelFlops:
    """Measure ``model``'s FLOPs per image on ``dataset``'s input shape (random weights and input)."""
    info = model_info(model, dataset)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = build_model(model, dataset)
        x = torch.randn(PROBE_BATCH, info["in_channels"], *info["image_size"])
    net.eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        net(x)
    forward = counter.get_total_flops() / PROBE_BATCH
    net.train()
    with FlopCounterMode(display=False) as counter:
        net(x).float().sum().backward()
    return ModelFlops(forward=forward, train_step=counter.get_total_flops() / PROBE_BATCH)


@dataclass(frozen=True)
class SplitSizes:
    """Images in each training subset, in their union, and in the test set."""

    subset_a: int
    subset_b: int
    union: int
    test: int


@lru_cache(maxsize=None)
def split_sizes(data: DataSpec, data_root: str | None = None) -> SplitSizes | None:
    """Subset sizes of ``data``'s split: from the class counts for the paper's datasets, else from
    the dataset's labels (the bundled samples, or a dataset readable under ``data_root``); None
    when the dataset cannot be read."""
    from .data.loading import load_dataset
    from .data.prepare import split_indices

    if data.dataset in TRAIN_CLASS_COUNTS:
        counts = TRAIN_CLASS_COUNTS[data.dataset]
        labels, n_test = np.repeat(np.arange(len(counts)), counts), TEST_SIZES[data.dataset]
    else:
        try:
            labels = load_dataset(data.dataset, data_root, train=True)[1]
            n_test = len(load_dataset(data.dataset, data_root, train=False)[1])
        except (FileNotFoundError, ValueError):
            return None
    first, second = split_indices(labels, data)
    return SplitSizes(len(first), len(second), len(np.union1d(first, second)), n_test)


@dataclass(frozen=True)
class RunWork:
    """FLOPs of one run."""

    train_flops: float
    eval_flops: float

    @property
    def flops(self) -> float:
        return self.train_flops + self.eval_flops


def run_work(spec: RunSpec, sizes: SplitSizes) -> RunWork:
    """FLOPs of ``spec`` on subsets of ``sizes`` (formula of the module docstring)."""
    per_image = model_flops(spec.model, spec.data.dataset)
    epochs, points = spec.train.epochs, len(spec.eval.lambdas)
    trained_images = sizes.subset_a + sizes.subset_b
    evaluated = 2 * epochs * sizes.test + points * sizes.test
    if spec.eval.on_train:
        evaluated += points * trained_images
    if spec.eval.bn_mode == "recompute" and _has_batch_norm(spec.model, spec.data.dataset):
        evaluated += points * sizes.union
    return RunWork(per_image.train_step * epochs * trained_images, per_image.forward * evaluated)


def group_steps(specs: list[RunSpec], sizes: SplitSizes) -> int:
    """Optimizer steps of runs trained together (one configuration, several seeds): the fast engine
    takes one step for all copies of all seeds (one stack per subset length), the naive engine
    trains each copy alone."""
    from .engine.fast import supports

    spec = specs[0]
    per_subset = [spec.train.epochs * math.ceil(n / spec.train.batch_size) for n in (sizes.subset_a, sizes.subset_b)]
    if spec.engine == "fast" and supports(spec):
        return per_subset[0] if sizes.subset_a == sizes.subset_b else sum(per_subset)
    return sum(per_subset) * len(specs)


@lru_cache(maxsize=None)
def _has_batch_norm(model: str, dataset: str) -> bool:
    from .interpolate import has_batch_norm

    return has_batch_norm(build_model(model, dataset))
