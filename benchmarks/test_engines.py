"""Throughput of the naive and the fast engine side by side.

Each case trains the same M models (copies A and B of M/2 seeds; M = 1: copy A of one seed) for
one epoch on the bundled MNIST subsets (2,000 images each, test evaluation of 1,000 images
included, as both engines evaluate every epoch), once with the naive engine (``train_copy``
model after model) and once with the fast engine (``train_stack``). Reported per case: seconds
per round, model-epochs/s, training images/s, and achieved GFLOP/s (forward + backward FLOPs of
training and the forward FLOPs of evaluation, counted by ``FlopCounterMode``; Adam not counted)
against the matmul ceiling measured in the same run.

``test_stacking_strategy`` times one training step (forward, backward, fused Adam) of M MLPs
held four ways, the measurement behind the stacked-module design.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call, vmap
from torch.utils.flop_counter import FlopCounterMode

from lmc_bench.config import RunSpec, TrainSpec
from lmc_bench.cost import synchronize
from lmc_bench.data.prepare import PreparedData
from lmc_bench.engine.fast import Member, make_optimizer, train_stack
from lmc_bench.engine.stacked import stack_models
from lmc_bench.models import build_model
from lmc_bench.train import build_initial_pair, train_copy

EPOCHS = 1
MLP_ROUNDS = 3
CONV_ROUNDS = 2
CONV_SUBSET = 128
CONV_TEST = 100
STEP_ROUNDS = 20

MLP_CASES = [
    (1, 32, "same"),
    (2, 32, "same"),
    (10, 32, "same"),
    (10, 32, "different"),
    (10, 128, "same"),
    (10, 1024, "same"),
    (40, 32, "same"),
]
"""(M, B, SGD noise): M sweep at B=32, batch-size sweep at M=10; M=40 on the GPU only."""

CONV_CASES = [(2, 32, "same"), (10, 32, "same")]


def members_for(model: str, m: int, batch_size: int, noise: str, precision: str = "fp32") -> list[tuple[RunSpec, int]]:
    """(spec, copy) of the M models: both copies of seeds 1..M/2, or copy A of seed 1."""
    train = TrainSpec(epochs=EPOCHS, batch_size=batch_size, noise=noise, precision=precision)
    specs = [RunSpec(model, train=train, seed=seed) for seed in range(1, max(m // 2, 1) + 1)]
    if m == 1:
        return [(specs[0], 0)]
    return [(spec, copy_index) for copy_index in (0, 1) for spec in specs]


def initial_models(members, device) -> list[torch.nn.Module]:
    pairs = {spec.seed: build_initial_pair(spec) for spec, _ in members}
    return [pairs[spec.seed][copy_index].to(device) for spec, copy_index in members]


def flops_per_image(model: str, data: PreparedData, batch_size: int) -> tuple[float, float]:
    """(training forward + backward, evaluation forward) FLOPs per image of one naive model."""
    net = build_model(model, "mnist_bundled")
    x, y = data.train_x[:batch_size], data.train_y[:batch_size]
    with FlopCounterMode(display=False) as counter:
        F.nll_loss(net(x), y).backward()
    train_flops = counter.get_total_flops() / batch_size
    net.eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        net(x)
    return train_flops, counter.get_total_flops() / batch_size


def run_case(benchmark, rows, engine, model, m, batch_size, noise, data, device, ceiling, rounds, precision):
    members = members_for(model, m, batch_size, noise, precision)

    def setup():
        return (initial_models(members, device),), {}

    def naive(models):
        for model_i, (spec, copy_index) in zip(models, members):
            train_copy(model_i, spec, data, copy_index, device)

    def fast(models):
        train_stack([Member(spec, c, model_i) for model_i, (spec, c) in zip(models, members)], data, device)

    benchmark.pedantic(naive if engine == "naive" else fast, setup=setup, rounds=rounds, warmup_rounds=1)
    stats = benchmark.stats.stats
    n_train, n_test = len(data.subset_a), len(data.test_y)
    train_flops, eval_flops = flops_per_image(model, data, batch_size)
    total_flops = m * EPOCHS * (n_train * train_flops + n_test * eval_flops)
    row = {
        "case": (model, m, batch_size, noise), "model": model, "m": m, "batch_size": batch_size, "noise": noise,
        "engine": engine, "seconds_min": stats.min, "seconds_median": stats.median,
        "model_epochs_per_s": m * EPOCHS / stats.min, "images_per_s": m * EPOCHS * n_train / stats.min,
        "gflops": total_flops / stats.min / 1e9, "percent_of_ceiling": 100 * total_flops / stats.min / 1e9 / ceiling,
    }
    benchmark.extra_info.update({k: v for k, v in row.items() if k != "case"})
    rows.append(row)


@pytest.mark.parametrize("engine", ["naive", "fast"])
@pytest.mark.parametrize("m, batch_size, noise", MLP_CASES, ids=lambda v: str(v))
@pytest.mark.parametrize("model", ["mlp_l1", "mlp_l3"])
def test_mlp_throughput(benchmark, bench_rows, engine, model, m, batch_size, noise, mnist, device, matmul_ceiling, precision):
    if m > 10 and device.type != "cuda":
        pytest.skip("M = 40 stacks are timed on the GPU only")
    run_case(benchmark, bench_rows, engine, model, m, batch_size, noise, mnist, device, matmul_ceiling, MLP_ROUNDS, precision)


@pytest.mark.parametrize("engine", ["naive", "fast"])
@pytest.mark.parametrize("m, batch_size, noise", CONV_CASES, ids=lambda v: str(v))
def test_resnet10_throughput(benchmark, bench_rows, engine, m, batch_size, noise, mnist, device, matmul_ceiling, precision):
    """ResNet10 on the first 128 images of each subset (CPU-sized; grouped convolutions)."""
    data = PreparedData(mnist.train_x, mnist.train_y, mnist.subset_a[:CONV_SUBSET], mnist.subset_b[:CONV_SUBSET],
                        mnist.test_x[:CONV_TEST], mnist.test_y[:CONV_TEST])
    run_case(benchmark, bench_rows, engine, "resnet10", m, batch_size, noise, data, device, matmul_ceiling, CONV_ROUNDS, precision)


def stacked_step(models, images, labels, shared: bool):
    """The engine's stacked network; images shared per subset (G=2, same noise) or per model."""
    network = stack_models(models)
    optimizer = make_optimizer(network, 1e-3)
    m = len(models)
    inputs = images[:: m // 2] if shared else images

    def step():
        log_probs = network(inputs)
        losses = F.nll_loss(log_probs.flatten(0, 1), labels.flatten(), reduction="none").view(m, -1).mean(1)
        optimizer.zero_grad()
        losses.sum().backward()
        optimizer.step()

    return step


def vmap_step(models, images, labels):
    """``torch.func.vmap`` of ``functional_call`` over parameters stacked along dim 0."""
    base = models[0]
    params = {name: torch.stack([dict(mdl.named_parameters())[name].detach() for mdl in models]).requires_grad_()
              for name, _ in base.named_parameters()}
    optimizer = torch.optim.Adam(params.values(), lr=1e-3, fused=images.device.type in ("cpu", "cuda"))
    forward = vmap(lambda p, x: functional_call(base, p, (x,)))

    def step():
        log_probs = forward(params, images)
        losses = F.nll_loss(log_probs.flatten(0, 1), labels.flatten(), reduction="none").view(len(models), -1).mean(1)
        optimizer.zero_grad(set_to_none=True)
        losses.sum().backward()
        optimizer.step()

    return step


def loop_step(models, images, labels):
    """M separate modules, each with its own fused Adam (the naive engine without its DataLoader)."""
    optimizers = [torch.optim.Adam(mdl.parameters(), lr=1e-3, fused=images.device.type in ("cpu", "cuda")) for mdl in models]

    def step():
        for mdl, optimizer, x, y in zip(models, optimizers, images, labels):
            loss = F.nll_loss(mdl(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    return step


STRATEGIES = {
    "stacked module, input shared per subset (G=2)": lambda mo, x, y: stacked_step(mo, x, y, shared=True),
    "stacked module, input per model (G=M)": lambda mo, x, y: stacked_step(mo, x, y, shared=False),
    "torch.func.vmap(functional_call), input per model": vmap_step,
    "loop over M modules": loop_step,
}


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_stacking_strategy(benchmark, bench_rows, strategy, mnist, device, matmul_ceiling):
    """M = 10 MLP L1 models (5 seeds x 2 copies), B = 32; copies A read subset A's first batch, B subset B's."""
    m, batch_size = 10, 32
    members = members_for("mlp_l1", m, batch_size, "same")
    models = initial_models(members, device)
    index = torch.stack([subset[:batch_size] for subset in (mnist.subset_a, mnist.subset_b)]).repeat_interleave(m // 2, 0)
    images, labels = mnist.train_x[index].to(device), mnist.train_y[index].to(device)
    step = STRATEGIES[strategy](models, images, labels)

    def timed():
        step()
        synchronize(device)

    benchmark.pedantic(timed, rounds=STEP_ROUNDS, warmup_rounds=3)
    stats = benchmark.stats.stats
    bench_rows.append({"strategy": strategy, "m": m, "batch_size": batch_size,
                 "step_ms": 1e3 * stats.min, "step_ms_median": 1e3 * stats.median})
