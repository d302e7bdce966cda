"""A model's arithmetic in the fast engine does not depend on the other models of its stack.

The protocol's control (Appendix B: same initialisation, same data, same SGD noise gives the same
model) must hold inside the engine: two identical copies trained in one stack stay bit-identical,
and a model trained in one stack equals the same model trained in a stack of other models.

On the CPU, with one intra-op thread a model equals the same model trained alone (a stack of one)
for the fully connected families. Two cases are compared against a stack of other models instead:
with several threads the BLAS library parallelises a single matrix product differently from a
batch of them, and for convolutions oneDNN chooses another algorithm for one group than for
several; any two stacks of two or more models agree bit for bit.
"""

from __future__ import annotations

import pytest
import torch

from lmc_bench.config import DataSpec, RunSpec, TrainSpec
from lmc_bench.data.prepare import PreparedData, prepare_data
from lmc_bench.engine.fast import Member, train_stack
from lmc_bench.train import build_initial_pair

FAMILIES = {
    "mlp_l3": dict(n_train=160, batch_size=32, epochs=1),
    "mlp_l1_bn_dropout": dict(n_train=160, batch_size=32, epochs=1),
    "resnet10": dict(n_train=32, batch_size=16, epochs=1),
    "vgg11": dict(n_train=16, batch_size=8, epochs=1),
}
SEEDS = (1, 20, 100)


@pytest.fixture(scope="module")
def mnist() -> PreparedData:
    return prepare_data(DataSpec())


@pytest.fixture(params=[1, 2], ids=["1 thread", "2 threads"])
def threads(request):
    previous = torch.get_num_threads()
    torch.set_num_threads(request.param)
    yield request.param
    torch.set_num_threads(previous)


def family_data(model: str, mnist: PreparedData) -> PreparedData:
    size = FAMILIES[model]["n_train"]
    if model == "vgg11":
        generator = torch.Generator().manual_seed(0)
        x = torch.randn(2 * size + 16, 3, 32, 32, generator=generator)
        y = torch.randint(0, 10, (2 * size + 16,), generator=generator)
        return PreparedData(x, y, torch.arange(size), torch.arange(size, 2 * size), x[-16:], y[-16:])
    return PreparedData(mnist.train_x, mnist.train_y, mnist.subset_a[:size], mnist.subset_b[:size],
                        mnist.test_x[:40], mnist.test_y[:40])


def spec_for(model: str, shift: str, seed: int) -> RunSpec:
    settings = FAMILIES[model]
    dataset = "cifar10" if model == "vgg11" else "mnist_bundled"
    # a learning rate at which the training is chaotic: any difference in rounding grows quickly
    train = TrainSpec(lr=1.5e-2, batch_size=settings["batch_size"], epochs=settings["epochs"])
    return RunSpec(model, seed=seed, data=DataSpec(dataset=dataset, shift=shift), train=train)


def member(spec: RunSpec, copy_index: int) -> Member:
    return Member(spec, copy_index, build_initial_pair(spec)[copy_index])


def states_equal(model_a, model_b) -> bool:
    state_b = model_b.state_dict()
    return all(torch.equal(value, state_b[key]) for key, value in model_a.state_dict().items())


def max_difference(model_a, model_b) -> float:
    state_b = model_b.state_dict()
    return max((value.double() - state_b[key].double()).abs().max().item() for key, value in model_a.state_dict().items())


@pytest.mark.parametrize("model", list(FAMILIES))
def test_identical_copies_stay_identical_in_one_stack(mnist, model, threads):
    """No data shift, same initialisation, same SGD noise: copies A and B of every seed, trained
    side by side in one stack of six, end bit-identical (trained weights, BatchNorm buffers)."""
    data = family_data(model, mnist)
    data = PreparedData(data.train_x, data.train_y, data.subset_a, data.subset_a, data.test_x, data.test_y)
    specs = [spec_for(model, "none", seed) for seed in SEEDS]
    members = [member(spec, c) for c in (0, 1) for spec in specs]
    models, _ = train_stack(members, data, "cpu")
    n = len(specs)
    apart = [max_difference(models[i], models[n + i]) for i in range(n)]
    assert apart == [0.0] * n, f"copies A and B apart by {apart} (max |wA - wB| per seed)"


@pytest.mark.parametrize("model", list(FAMILIES))
def test_model_does_not_depend_on_its_stack(mnist, model, threads):
    """Copy B of seed 20, trained in a stack of six (three pairs, covariate shift) and in a stack
    of two with an unrelated model (copy A of seed 500), ends bit-identical."""
    data = family_data(model, mnist)
    specs = [spec_for(model, "covariate", seed) for seed in SEEDS]
    big, _ = train_stack([member(spec, c) for c in (0, 1) for spec in specs], data, "cpu")
    target = spec_for(model, "covariate", 20)
    small, _ = train_stack([member(spec_for(model, "covariate", 500), 0), member(target, 1)], data, "cpu")
    assert states_equal(big[len(specs) + 1], small[1]), max_difference(big[len(specs) + 1], small[1])


@pytest.mark.parametrize("model", ["mlp_l3", "mlp_l1_bn_dropout"])
def test_fully_connected_model_equals_stack_of_one(mnist, model):
    """With one intra-op thread, a model in a stack of six equals the same model trained alone."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        data = family_data(model, mnist)
        specs = [spec_for(model, "covariate", seed) for seed in SEEDS]
        big, _ = train_stack([member(spec, c) for c in (0, 1) for spec in specs], data, "cpu")
        [alone], _ = train_stack([member(specs[2], 0)], data, "cpu")
    finally:
        torch.set_num_threads(previous)
    assert states_equal(big[2], alone), max_difference(big[2], alone)
