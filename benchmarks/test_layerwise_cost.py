"""Cost of the layer-wise pass and of the second-order barrier predictor against one training
epoch of the same pair, on the bundled MNIST sample (one round each: these are long).

- ResNet22 pair (naive engine, the default for conv nets on the CPU): one epoch of both copies on
  ``CONV_TRAIN`` images each (training steps only), against the predictor on ``CONV_TEST`` test
  images (network-wide endpoint and midpoint forms, and the endpoint form of every layer), and the
  layer-wise pass on the λ grid {0, 0.5, 1}.
- MLP L3 pair (fast engine): one epoch of both copies on their 2,000-image subsets (with the
  engine's per-epoch test evaluation), against the layer-wise pass (11-point grid, every layer,
  both bases, test set and training data in one stacked evaluation), the cumulative barriers, and
  the same single-layer mixtures evaluated one model at a time in a Python loop on the test set.

Every cost is also given per image, so that the ratio at another data size follows: an epoch
scales with the training subsets, the predictor and the passes with the evaluated images.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
import torch

from lmc_bench.barrier_prediction import model_loss, predict_barrier
from lmc_bench.config import RunSpec, TrainSpec
from lmc_bench.data.order import epoch_draws
from lmc_bench.engine.fast import Member, train_stack
from lmc_bench.interpolate import interpolate_state
from lmc_bench.layerwise import BASES, cumulative_barriers, evaluation_sets, interpolate_layer, layer_groups, layerwise_barriers
from lmc_bench.models import build_model
from lmc_bench.train import build_initial_pair, evaluate, train_epoch

CONV_TRAIN = 256
CONV_TEST = 128
GRID = RunSpec("mlp_l3").eval.lambdas


@dataclass(frozen=True)
class TrainedPair:
    state_a: dict
    state_b: dict
    epoch_seconds: float
    epoch_images: int


def _states(models) -> tuple[dict, dict]:
    return tuple({k: v.detach().cpu() for k, v in m.state_dict().items()} for m in models)


@pytest.fixture(scope="module")
def resnet22_pair(mnist, device) -> TrainedPair:
    """A ResNet22 pair after one timed epoch of both copies (naive engine, training steps only)."""
    spec = RunSpec("resnet22", train=TrainSpec(epochs=1, batch_size=32))
    models = [m.to(device) for m in build_initial_pair(spec)]
    start = time.perf_counter()
    for copy_index, (model, subset) in enumerate(zip(models, (mnist.subset_a, mnist.subset_b))):
        x, y = mnist.train_x[subset[:CONV_TRAIN]], mnist.train_y[subset[:CONV_TRAIN]]
        draws = next(epoch_draws(len(y), 1, "same", spec.seed, copy_index, False))
        train_epoch(model, torch.optim.Adam(model.parameters(), lr=1e-3), x, y, draws, 32, device, "fp32")
    return TrainedPair(*_states(models), time.perf_counter() - start, 2 * CONV_TRAIN)


@pytest.fixture(scope="module")
def mlp_l3_pair(mnist, device) -> TrainedPair:
    """An MLP L3 pair after one timed epoch of both copies (fast engine, with its test evaluation)."""
    spec = RunSpec("mlp_l3", train=TrainSpec(epochs=1, batch_size=32, lr=1.5e-2))
    model_a, model_b = build_initial_pair(spec)
    start = time.perf_counter()
    trained, _ = train_stack([Member(spec, 0, model_a), Member(spec, 1, model_b)], mnist, device)
    return TrainedPair(*_states(trained), time.perf_counter() - start, len(mnist.subset_a) + len(mnist.subset_b))


def _record(benchmark, bench_rows, model: str, what: str, work, images: int, pair: TrainedPair) -> None:
    benchmark.pedantic(work, rounds=1, iterations=1)
    seconds = benchmark.stats.stats.min
    bench_rows.append({"model": model, "what": what, "cost_seconds": seconds, "images": images,
                       "ms_per_image": 1e3 * seconds / images, "epoch_seconds": pair.epoch_seconds,
                       "epoch_images": pair.epoch_images, "ratio": seconds / pair.epoch_seconds})


RESNET22_WORK = ("predictor, network-wide, endpoint form", "predictor, network-wide, midpoint form",
                 "predictor, every layer, endpoint form", "layer-wise pass, stacked, grid {0, 0.5, 1}")


@pytest.mark.parametrize("what", RESNET22_WORK)
def test_resnet22_cost(benchmark, bench_rows, what, resnet22_pair, mnist, device):
    a, b = resnet22_pair.state_a, resnet22_pair.state_b
    x, y = mnist.test_x[:CONV_TEST], mnist.test_y[:CONV_TEST]
    template = build_model("resnet22", "mnist_bundled")
    loss = model_loss(template, x, y, device, batch_size=CONV_TEST)
    work = {
        RESNET22_WORK[0]: lambda: predict_barrier(loss, a, b),
        RESNET22_WORK[1]: lambda: predict_barrier(loss, a, b, at="midpoint"),
        RESNET22_WORK[2]: lambda: [predict_barrier(loss, a, b, layer=layer) for layer in layer_groups(a)],
        RESNET22_WORK[3]: lambda: layerwise_barriers(template, a, b, {"test": (x, y)}, (0.0, 0.5, 1.0), device),
    }[what]
    _record(benchmark, bench_rows, "resnet22", what, work, CONV_TEST, resnet22_pair)


MLP_WORK = ("layer-wise pass, stacked, 11-point grid, test + training data", "cumulative barriers, stacked, test + training data",
            "layer-wise pass, one model at a time, 11-point grid, test set")


@pytest.mark.parametrize("what", MLP_WORK)
def test_mlp_l3_cost(benchmark, bench_rows, what, mlp_l3_pair, mnist, device):
    a, b = mlp_l3_pair.state_a, mlp_l3_pair.state_b
    template = build_model("mlp_l3", "mnist_bundled")
    sets = evaluation_sets(mnist)

    def one_at_a_time():
        model = build_model("mlp_l3", "mnist_bundled").to(device)
        states = [interpolate_state(a, b, lam) for lam in GRID]
        states += [interpolate_layer(a, b, layer, lam, base) for base in BASES for layer in layer_groups(a)
                   for lam in GRID if lam != (0.0 if base == "a" else 1.0)]
        for state in states:
            model.load_state_dict(state)
            evaluate(model, *sets["test"], device)

    work = {
        MLP_WORK[0]: lambda: layerwise_barriers(template, a, b, sets, GRID, device),
        MLP_WORK[1]: lambda: cumulative_barriers(template, a, b, sets, device=device),
        MLP_WORK[2]: one_at_a_time,
    }[what]
    images = len(sets["test"][1]) if what == MLP_WORK[2] else sum(len(y) for _, y in sets.values())
    _record(benchmark, bench_rows, "mlp_l3", what, work, images, mlp_l3_pair)
