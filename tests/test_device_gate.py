"""Gate of the fast engine on a named device against the naive engine on the CPU.

Runs only when a device is named (``benchmarks/device_check.sh`` runs it on CUDA)::

    pytest tests/test_device_gate.py --device cuda      # the gate
    pytest tests/test_device_gate.py --device cpu       # the same checks on the CPU (dry run)

Checks, on the device: the fp32 numerics in force (no TF32); the first training step's losses
and gradients within 1e-5 of the CPU reference (plus the reference's own fp32 error); ten steps
within 1e-4 (relative weight distance); the path evaluated as on the CPU (1e-5); repeat runs
bit-identical; identical copies in one stack bit-identical. Dropout masks come from a generator
on the device, so models with dropout are compared with themselves only.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lmc_bench.config import DataSpec, EvalSpec, RunSpec, TrainSpec
from lmc_bench.data.order import epoch_draws
from lmc_bench.data.prepare import PreparedData, prepare_data
from lmc_bench.devices import cuda_numerics, resolve_device
from lmc_bench.engine import evaluate_path_fast, stack_models, train_pairs_fast, train_stack
from lmc_bench.engine.fast import Member
from lmc_bench.engine.feed import epoch_feed, load_batch
from lmc_bench.experiment import evaluate_path
from lmc_bench.train import build_initial_pair, train_pair_naive
from test_fast_engine import assert_first_step_matches, compare_runs, first_step, members_of, small_mnist

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def device(request) -> torch.device:
    choice = request.config.getoption("--device")
    if choice == "auto":
        pytest.skip("the device gate runs when a device is named: --device cuda (or --device cpu for a dry run)")
    return resolve_device(choice)


@pytest.fixture(scope="module")
def mnist() -> PreparedData:
    return prepare_data(DataSpec())


def on_cpu(runs):
    """Runs of ``train_pairs_fast`` with the trained models moved to the CPU."""
    return [(initial, model_a.cpu(), model_b.cpu(), histories) for initial, model_a, model_b, histories in runs]


def states_equal(model_a, model_b) -> bool:
    state_b = model_b.state_dict()
    return all(torch.equal(value, state_b[key]) for key, value in model_a.state_dict().items())


def test_cuda_numerics_are_fp32(device):
    if device.type != "cuda":
        pytest.skip("CUDA flags")
    flags = cuda_numerics()
    assert not flags["cudnn_benchmark"] and flags["cudnn_deterministic"]
    assert flags.get("matmul_fp32_precision", "ieee") == "ieee" and flags.get("conv_fp32_precision", "ieee") == "ieee"
    assert not flags.get("matmul_allow_tf32", False) and not flags.get("cudnn_allow_tf32", False)


@pytest.mark.parametrize("model", ["mlp_l1", "mlp_l3_bn", "resnet10"])
def test_first_step_matches_cpu_reference(mnist, device, model):
    specs = [RunSpec(model, seed=seed, train=TrainSpec(batch_size=16)) for seed in (1, 2)]
    data = small_mnist(mnist)
    _, _, naive, _ = first_step(specs, data)
    members = members_of(specs)
    subsets = [data.subset_a if c == 0 else data.subset_b for _, c, _ in members]
    draws = [next(epoch_draws(len(s), 1, "same", spec.seed, c, False)) for (spec, c, _), s in zip(members, subsets)]
    index, flips = next(epoch_feed(draws, subsets, device).batches(16))
    network = stack_models([m for _, _, m in members]).to(device)
    network.train()
    images, labels = load_batch(data.train_x.to(device), data.train_y.to(device), index, flips, len(members))
    losses = F.nll_loss(network(images).flatten(0, 1), labels.flatten(), reduction="none").view(len(members), -1).mean(1)
    losses.sum().backward()
    assert_first_step_matches(network.cpu(), losses.detach().cpu(), naive)


@pytest.mark.parametrize("model", ["mlp_l1", "mlp_l3"])
def test_ten_steps_match_cpu_reference(mnist, device, model):
    specs = [RunSpec(model, seed=seed, train=TrainSpec(epochs=1)) for seed in (1, 20)]
    data = small_mnist(mnist, n_train=320, n_test=200)
    compare_runs([train_pair_naive(spec, data, CPU) for spec in specs], on_cpu(train_pairs_fast(specs, data, device)),
                 weights=1e-4, history=1e-5)


def test_path_evaluation_matches_cpu(mnist, device):
    spec = RunSpec("mlp_l1_bn", eval=EvalSpec(on_train=True), train=TrainSpec(epochs=1))
    data = small_mnist(mnist, n_train=320, n_test=500)
    _, model_a, model_b, _ = train_pairs_fast([spec], data, CPU)[0]
    state_a, state_b = model_a.state_dict(), model_b.state_dict()
    path_cpu, log_probs_cpu = evaluate_path(spec, state_a, state_b, data, CPU)
    path_device, log_probs_device = evaluate_path_fast(spec, state_a, state_b, data, device)
    for key in path_cpu:
        torch.testing.assert_close(torch.tensor(path_device[key]), torch.tensor(path_cpu[key]), atol=1e-5, rtol=1e-5, msg=key)
    torch.testing.assert_close(log_probs_device, log_probs_cpu, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("model, n_train", [("mlp_l3_bn_dropout", 320), ("resnet10", 48)])
def test_repeat_runs_are_bit_identical(mnist, device, model, n_train):
    specs = [RunSpec(model, seed=seed, train=TrainSpec(epochs=1, batch_size=16, noise="different")) for seed in (1, 2)]
    data = small_mnist(mnist, n_train=n_train, n_test=40)
    first, second = (on_cpu(train_pairs_fast(specs, data, device)) for _ in range(2))
    for run_1, run_2 in zip(first, second):
        assert states_equal(run_1[1], run_2[1]) and states_equal(run_1[2], run_2[2])
        assert [vars(h) for h in run_1[3]] == [vars(h) for h in run_2[3]]


@pytest.mark.parametrize("model, n_train", [("mlp_l3", 320), ("resnet10", 48)])
def test_identical_copies_stay_identical_in_one_stack(mnist, device, model, n_train):
    """Shift "none", shared init, same noise: copies A and B of each seed end bit-identical."""
    data = small_mnist(mnist, n_train=n_train, n_test=40)
    data = PreparedData(data.train_x, data.train_y, data.subset_a, data.subset_a, data.test_x, data.test_y)
    specs = [RunSpec(model, seed=seed, data=DataSpec(shift="none"), train=TrainSpec(lr=1.5e-2, epochs=1, batch_size=16))
             for seed in (1, 20)]
    members = [Member(spec, c, build_initial_pair(spec)[c]) for c in (0, 1) for spec in specs]
    models, _ = train_stack(members, data, device)
    for i in range(len(specs)):
        assert states_equal(models[i], models[len(specs) + i]), f"seed {specs[i].seed}"
