"""Cost of the layer-wise pass and of the second-order barrier predictor against one training
epoch of the same pair, on the bundled MNIST sample.

- ResNet22 pair (naive engine, the default for conv nets on the CPU): one epoch of both copies on
  ``CONV_TRAIN`` images each (training steps only), against the predictor on ``CONV_TEST`` test images (network-wide
  endpoint and midpoint forms, and the endpoint form of every layer), and the layer-wise pass on
  the λ grid {0, ½, 1}.
- MLP L3 pair (fast engine): one epoch of both copies on their 2,000-image subsets (with the
  engine's per-epoch test evaluation), against the
  layer-wise pass (11-point grid, every layer, both bases, test set and training data in one
  stacked evaluation), the cumulative barriers, and the same single-layer mixtures evaluated one
  model at a time in a Python loop on the test set.

Every cost is also given per image, so that the ratio at another data size follows: an epoch
scales with the training subsets, the predictor and the passes with the evaluated images.
"""

from __future__ import annotations

import time

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


def _timed(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def _row(bench_rows, model: str, what: str, seconds: float, images: int, epoch_seconds: float, epoch_images: int) -> None:
    bench_rows.append({"model": model, "what": what, "cost_seconds": seconds, "images": images,
                       "ms_per_image": 1e3 * seconds / images if images else float("nan"),
                       "epoch_seconds": epoch_seconds, "epoch_images": epoch_images, "ratio": seconds / epoch_seconds})
    print(f"{model}: {what}: {seconds:.2f} s on {images} images ({seconds / epoch_seconds:.2f} x one epoch of the pair)", flush=True)


def test_predictor_and_layerwise_pass_resnet22(mnist, device, bench_rows):
    spec = RunSpec("resnet22", train=TrainSpec(epochs=1, batch_size=32))
    model_a, model_b = (m.to(device) for m in build_initial_pair(spec))
    subsets = [(mnist.train_x[s[:CONV_TRAIN]], mnist.train_y[s[:CONV_TRAIN]]) for s in (mnist.subset_a, mnist.subset_b)]

    def epoch():
        for copy_index, (model, (x, y)) in enumerate(zip((model_a, model_b), subsets)):
            draws = next(epoch_draws(len(y), 1, "same", spec.seed, copy_index, False))
            train_epoch(model, torch.optim.Adam(model.parameters(), lr=1e-3), x, y, draws, 32, device, "fp32")

    epoch_seconds, _ = _timed(epoch)
    state_a, state_b = ({k: v.detach().cpu() for k, v in m.state_dict().items()} for m in (model_a, model_b))
    x, y = mnist.test_x[:CONV_TEST], mnist.test_y[:CONV_TEST]
    loss = model_loss(build_model("resnet22", "mnist_bundled"), x, y, device, batch_size=CONV_TEST)
    epoch_images = 2 * CONV_TRAIN
    for what, call in (("predictor, network-wide, endpoint form", lambda: predict_barrier(loss, state_a, state_b)),
                       ("predictor, network-wide, midpoint form", lambda: predict_barrier(loss, state_a, state_b, at="midpoint"))):
        seconds, _ = _timed(call)
        _row(bench_rows, "resnet22", what, seconds, CONV_TEST, epoch_seconds, epoch_images)
    layers = list(layer_groups(state_a))
    seconds, _ = _timed(lambda: [predict_barrier(loss, state_a, state_b, layer=layer) for layer in layers])
    _row(bench_rows, "resnet22", f"predictor, every layer ({len(layers)}), endpoint form", seconds, CONV_TEST, epoch_seconds, epoch_images)
    seconds, _ = _timed(lambda: layerwise_barriers(build_model("resnet22", "mnist_bundled"), state_a, state_b,
                                                   {"test": (x, y)}, (0.0, 0.5, 1.0), device))
    _row(bench_rows, "resnet22", f"layer-wise pass, stacked, grid {{0, ½, 1}} ({4 * len(layers) + 3} models)", seconds,
         CONV_TEST, epoch_seconds, epoch_images)


def test_layerwise_pass_mlp_l3(mnist, device, bench_rows):
    spec = RunSpec("mlp_l3", train=TrainSpec(epochs=1, batch_size=32, lr=1.5e-2))
    model_a, model_b = build_initial_pair(spec)
    members = [Member(spec, 0, model_a), Member(spec, 1, model_b)]
    epoch_seconds, (trained, _) = _timed(lambda: train_stack(members, mnist, device))
    state_a, state_b = ({k: v.detach().cpu() for k, v in m.state_dict().items()} for m in trained)
    template = build_model("mlp_l3", "mnist_bundled")
    sets = evaluation_sets(mnist)
    images = sum(len(y) for _, y in sets.values())
    epoch_images = len(mnist.subset_a) + len(mnist.subset_b)
    lambdas = spec.eval.lambdas
    layers = list(layer_groups(state_a))
    seconds, _ = _timed(lambda: layerwise_barriers(template, state_a, state_b, sets, lambdas, device))
    models = len(lambdas) + 2 * len(layers) * (len(lambdas) - 1)
    _row(bench_rows, "mlp_l3", f"layer-wise pass, stacked ({models} models, test + training data)", seconds, images,
         epoch_seconds, epoch_images)
    seconds, _ = _timed(lambda: cumulative_barriers(template, state_a, state_b, sets, device=device))
    _row(bench_rows, "mlp_l3", "cumulative barriers, stacked (3 orders, test + training data)", seconds, images,
         epoch_seconds, epoch_images)

    def one_at_a_time():
        model = build_model("mlp_l3", "mnist_bundled").to(device)
        x, y = sets["test"]
        states = [interpolate_state(state_a, state_b, lam) for lam in lambdas]
        states += [interpolate_layer(state_a, state_b, layer, lam, base) for base in BASES for layer in layers
                   for lam in lambdas if lam != (0.0 if base == "a" else 1.0)]
        for state in states:
            model.load_state_dict(state)
            evaluate(model, x, y, device)

    seconds, _ = _timed(one_at_a_time)
    _row(bench_rows, "mlp_l3", f"the same {models} models one at a time (loop), test set only", seconds,
         len(sets["test"][1]), epoch_seconds, epoch_images)
