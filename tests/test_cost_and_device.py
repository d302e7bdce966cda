"""FLOP estimates of a run, the device choice, and how full-tier claims skip on a CPU."""

import pytest
import torch

from lmc_bench.claims import ClaimContext, ClaimRow, Setting
from lmc_bench.config import DataSpec, EvalSpec, RunSpec, TrainSpec
from lmc_bench.cost import describe_cpu_cost, estimate_training_flops, flops_per_image
from lmc_bench.devices import device_type, resolve_device
from lmc_bench.store import ResultsStore

MLP_L1_FORWARD = 2 * (784 * 587 + 587 * 10)
"""Multiply-adds x 2 of MLP L1 (W587) on one 28 x 28 image."""


def test_flops_per_image_of_mlp_l1_by_hand():
    """Forward: two matmuls. Backward: both weight gradients and the hidden layer's input
    gradient (the image needs none)."""
    train, evaluation = flops_per_image("mlp_l1", "mnist")
    assert evaluation == MLP_L1_FORWARD
    assert train == 2 * MLP_L1_FORWARD + 2 * 587 * 10


def test_run_flops_count_training_epoch_evaluations_and_the_path():
    spec = RunSpec("mlp_l1", data=DataSpec(dataset="mnist"), train=TrainSpec(epochs=20))
    train, evaluation = flops_per_image("mlp_l1", "mnist")
    expected = 20 * 60_000 * train + (2 * 20 * 10_000 + 11 * 10_000) * evaluation
    assert estimate_training_flops(spec) == pytest.approx(expected)
    assert estimate_training_flops(spec, subset_sizes=(100, 100), test_size=50) == pytest.approx(
        20 * 200 * train + (2 * 20 * 50 + 11 * 50) * evaluation)
    on_train = spec.replace(eval=EvalSpec(on_train=True))
    assert estimate_training_flops(on_train) == pytest.approx(expected + 11 * 60_000 * evaluation)
    assert "FLOP" in describe_cpu_cost([spec]) and "GFLOP/s" in describe_cpu_cost([spec])


def full_row() -> ClaimRow:
    spec = RunSpec("mlp_l1", data=DataSpec(dataset="digits_bundled"), train=TrainSpec(epochs=2))
    return ClaimRow("B0", "title", "section", "full", (Setting("mlp_l1 digits", spec),), "stable")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the behaviour without CUDA")
def test_full_tier_on_a_cpu_runs_only_when_named(tmp_path):
    store = ResultsStore(tmp_path)
    auto = ClaimContext("full", False, None, store)
    reason = auto.missing_requirements(full_row())
    assert reason.startswith("full-tier claim without a CUDA device: 5 runs") and "--device cpu" in reason
    assert ClaimContext("full", False, None, store, requested_device="cpu").missing_requirements(full_row()) == ""
    assert "--device cuda given" in ClaimContext("full", False, None, store, requested_device="cuda").missing_requirements(full_row())
    assert "--gpu given" in ClaimContext("full", True, None, store).missing_requirements(full_row())
    assert "--tier full" in ClaimContext("smoke", False, None, store, requested_device="cpu").missing_requirements(full_row())
    assert device_type("auto") == "cpu" and resolve_device("auto") == torch.device("cpu")
    with pytest.raises(ValueError, match="no CUDA device"):
        resolve_device("cuda")
