"""What a run costs before it is trained: FLOPs of the protocol, and a CPU time estimate.

:func:`estimate_training_flops` counts one forward/backward pass of one batch with
``torch.utils.flop_counter`` (matrix products and convolutions; element-wise work and Adam are
not counted) and scales it to a whole run of Algorithm 1: both copies trained for every epoch,
each copy evaluated on the test set after every epoch, and the test set evaluated at every
point of the path. :func:`cpu_seconds` turns FLOPs into time at this machine's measured fp32
matmul rate times :data:`CPU_ENGINE_EFFICIENCY`.
"""

from __future__ import annotations

import functools
import time
from typing import Iterable

import torch

from .config import RunSpec
from .flops import model_flops

DATASET_SIZES = {"mnist": (60_000, 10_000), "fashion_mnist": (60_000, 10_000), "cifar10": (50_000, 10_000)}
"""(training, test) images of the full-size datasets; other datasets are counted by loading them."""

CPU_ENGINE_EFFICIENCY = 0.4
"""Fraction of the fp32 matmul rate a training run reaches on a CPU: the fast engine's MLP stacks
reach 34-43 % at B = 32 and 78-94 % at B = 1024, the naive engine's ResNet10 50-65 %
(benchmarks/RESULTS.md); the lower end keeps the estimate on the safe side."""

MATMUL_SIZE = 1024


def flops_per_image(model: str, dataset: str) -> tuple[float, float]:
    """(training forward + backward, evaluation forward) FLOPs per image, counted once per model
    and dataset by :func:`lmc_bench.flops.model_flops`."""
    counted = model_flops(model, dataset)
    return counted.train_step, counted.forward


@functools.lru_cache(maxsize=None)
def dataset_sizes(dataset: str) -> tuple[int, int]:
    """(training, test) images of ``dataset``."""
    if dataset in DATASET_SIZES:
        return DATASET_SIZES[dataset]
    from .data.loading import load_dataset

    return len(load_dataset(dataset, train=True)[1]), len(load_dataset(dataset, train=False)[1])


def training_images_per_epoch(spec: RunSpec, train_size: int) -> int:
    """Images both copies see in one epoch: the two halves of the 50/50 split, the two parts of
    the x/(100-x) split (together the training set), or subset 1 twice (shift "none")."""
    return train_size if spec.data.shift != "none" else 2 * (train_size // 2)


def estimate_training_flops(spec: RunSpec, subset_sizes: tuple[int, int] | None = None, test_size: int | None = None) -> float:
    """FLOPs of one run of ``spec`` (one seed): training both copies, the per-epoch test
    evaluation of each copy, and the evaluation of every λ of the path (on the training subsets
    too when ``spec.eval.on_train``). ``subset_sizes`` and ``test_size`` default to the
    dataset's (a stored record holds the exact ones)."""
    train_flops, eval_flops = flops_per_image(spec.model, spec.data.dataset)
    if subset_sizes is None or test_size is None:
        train_size, default_test = dataset_sizes(spec.data.dataset)
        trained = training_images_per_epoch(spec, train_size)
        test_size = default_test if test_size is None else test_size
    else:
        trained = sum(subset_sizes)
    epochs, points = spec.train.epochs, len(spec.eval.lambdas)
    path_images = points * (test_size + (trained if spec.eval.on_train else 0))
    return epochs * trained * train_flops + (2 * epochs * test_size + path_images) * eval_flops


def synchronize(device: torch.device) -> None:
    """Wait for the work queued on ``device`` (a no-op on the CPU), so that a timer reads finished work."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@functools.lru_cache(maxsize=None)
def matmul_rate(device: str = "cpu", size: int = MATMUL_SIZE, repeats: int = 5) -> float:
    """Best fp32 FLOP/s of a square ``size`` matmul on ``device`` (measured once per process)."""
    device = torch.device(device)
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        a @ b
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


def cpu_seconds(flops: float) -> float:
    """Estimated seconds of ``flops`` of training on this CPU."""
    return flops / (matmul_rate("cpu") * CPU_ENGINE_EFFICIENCY)


def format_duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def describe_cpu_cost(specs: Iterable[RunSpec]) -> str:
    """One sentence: FLOPs of ``specs`` and the estimated time on this CPU."""
    specs = list(specs)
    flops = sum(estimate_training_flops(spec) for spec in specs)
    rate = matmul_rate("cpu") * CPU_ENGINE_EFFICIENCY
    return (f"{len(specs)} runs, {flops:.2g} FLOP, about {format_duration(flops / rate)} on this CPU "
            f"(measured fp32 matmul rate {matmul_rate('cpu') / 1e9:.0f} GFLOP/s x {CPU_ENGINE_EFFICIENCY:g} engine efficiency)")
