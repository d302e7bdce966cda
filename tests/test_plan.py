"""lmc-bench plan: which runs the selected claims need, their FLOPs against torch's flop counter,
the speed model, and the command's output."""

import json
import tempfile

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from lmc_bench import cli
from lmc_bench.calibration import Calibration, calibration_dir, device_key, device_name, fit_speed, load_calibration
from lmc_bench.claims import PAPER_SUBSET_SIZE, ClaimContext, ClaimRow, Setting
from lmc_bench.config import PAPER_SEEDS, DataSpec, EvalSpec, RunSpec, TrainSpec
from lmc_bench.data.order import epoch_draws
from lmc_bench.experiment import run_experiments
from lmc_bench.flops import group_steps, model_flops, run_work, split_sizes
from lmc_bench.models import build_model
from lmc_bench.plan import build_plan, collect_claim_rows, format_plan, planned_specs
from lmc_bench.store import ResultsStore
from lmc_bench.train import train_epoch


def test_mlp_flops_match_the_layer_arithmetic():
    """MLP L1 on MNIST (784-587-10): forward 2·(784·587 + 587·10) per image; a training step adds
    the weight gradients of both layers and the input gradient of the second only."""
    flops = model_flops("mlp_l1", "mnist")
    forward = 2 * (784 * 587 + 587 * 10)
    assert flops.forward == forward
    assert flops.train_step == 2 * forward + 2 * 587 * 10


@pytest.mark.parametrize("model, dataset", [("mlp_l1", "mnist"), ("resnet10", "cifar10")])
def test_plan_flops_agree_with_the_flop_counter_on_one_training_step(model, dataset):
    """One optimizer step of the reference trainer on a batch of 4, counted by FlopCounterMode,
    equals the plan's training FLOPs per image times 4."""
    torch.manual_seed(0)
    net = build_model(model, dataset)
    shape = (1, 28, 28) if dataset == "mnist" else (3, 32, 32)
    x, y = torch.randn(4, *shape), torch.randint(0, 10, (4,))
    draws = next(epoch_draws(4, 1, "same", seed=1, copy=0))
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    with FlopCounterMode(display=False) as counter:
        train_epoch(net, optimizer, x, y, draws, batch_size=4, device="cpu", precision="fp32")
    assert counter.get_total_flops() == pytest.approx(4 * model_flops(model, dataset).train_step, rel=1e-9)


def test_plan_flops_agree_with_the_flop_counter_on_a_whole_run():
    """Training, per-epoch evaluation, path on test and training data and BatchNorm re-estimation
    of a whole (tiny) run, counted by FlopCounterMode, equal the plan's formula. (The fast engine
    of an MLP; for grouped convolutions torch's counter counts the weight gradient as if
    ungrouped, so conv nets are checked on one step of the reference trainer above.)"""
    spec = RunSpec(model="mlp_l1_bn", data=DataSpec(dataset="digits_bundled"), train=TrainSpec(batch_size=64, epochs=1),
                   eval=EvalSpec(lambdas=(0, 0.5, 1), on_train=True, bn_mode="recompute"), engine="fast")
    with FlopCounterMode(display=False) as counter:
        run_experiments([spec], ResultsStore(tempfile.mkdtemp()), "cpu", show_progress=False)
    assert counter.get_total_flops() == pytest.approx(run_work(spec, split_sizes(spec.data)).flops, rel=1e-9)


def test_split_sizes_of_the_paper_datasets():
    for dataset, n in (("mnist", PAPER_SUBSET_SIZE["mnist"]), ("cifar10", PAPER_SUBSET_SIZE["cifar10"]), ("fashion_mnist", 30_000)):
        sizes = split_sizes(DataSpec(dataset=dataset))
        assert (sizes.subset_a, sizes.subset_b, sizes.test) == (n, n, 10_000)
    imbalanced = split_sizes(DataSpec(dataset="cifar10", shift="label_imbalance", imbalance_x=20))
    assert (imbalanced.subset_a, imbalanced.subset_b) == (25_000, 25_000)
    assert split_sizes(DataSpec(dataset="mnist_bundled")).subset_a == 2_000
    assert split_sizes(DataSpec(dataset="mnist", shift="none")).union == 29_997


def test_group_steps_follow_the_engine():
    sizes = split_sizes(DataSpec(dataset="mnist_bundled"))
    spec = RunSpec(model="mlp_l1", data=DataSpec(dataset="mnist_bundled"), train=TrainSpec(batch_size=32, epochs=2))
    seeds = [spec.replace(seed=s, engine="fast") for s in (1, 2, 3)]
    assert group_steps(seeds, sizes) == 2 * 63  # one stack of 6 models, ceil(2000 / 32) steps per epoch
    assert group_steps([spec], sizes) == 2 * 2 * 63


def test_speed_fit_recovers_step_cost_and_rate():
    step, rate = 2e-3, 5e10
    timings = [(steps, flops, steps * step + flops / rate) for steps, flops in ((1000, 1e11), (50, 4e12))]
    assert fit_speed(*timings) == pytest.approx((step, rate))
    # noise that would make the step cost negative: the large workload alone sets the rate
    assert fit_speed((1000, 1e11, 0.5), (50, 4e12, 80.0)) == pytest.approx((0.0, 5e10))


SPEC = RunSpec(model="mlp_l1", data=DataSpec(dataset="mnist_bundled"), train=TrainSpec(lr=1e-3, batch_size=32))


def _row(tier, *specs, claim="C0"):
    return ClaimRow(claim, "title", "section", tier, tuple(Setting(f"s{i}", s) for i, s in enumerate(specs)), "expectation")


def test_runs_are_deduplicated_across_claims_and_follow_tier_and_device(tmp_path):
    other = SPEC.replace(**{"train.batch_size": 64})
    rows = [("a::t[1]", _row("smoke", SPEC, claim="C1")), ("b::t[2]", _row("smoke", SPEC, other, claim="C7")),
            ("c::t[3]", _row("full", SPEC.replace(model="resnet10"), claim="C3"))]
    store = ResultsStore(tmp_path)
    context = ClaimContext(tier="smoke", gpu=False, data_root=None, store=store)
    needed = planned_specs(rows, context)
    assert len(needed) == 2 * len(PAPER_SEEDS)
    assert needed[SPEC.replace(seed=1, engine="fast")] == {"a::t[1]": "C1", "b::t[2]": "C7"}
    full_on_gpu = planned_specs(rows, ClaimContext(tier="full", gpu=False, data_root=None, store=store, requested_device="cuda"))
    assert SPEC.replace(model="resnet10", seed=1, engine="fast") in full_on_gpu
    full_on_cpu = planned_specs(rows, ClaimContext(tier="full", gpu=False, data_root=None, store=store, requested_device="cpu"))
    assert SPEC.replace(model="resnet10", seed=1, engine="naive") in full_on_cpu


def test_plan_marks_stored_runs_and_estimates_the_rest(tmp_path):
    store = ResultsStore(tmp_path)
    stored = SPEC.replace(seed=1, engine="fast")
    store.save(stored, {"metrics": {}}, {})
    calibration = Calibration("cpu-test", "test CPU", 1e-3, 1e10, torch.__version__, "today")
    plan = build_plan([("a::t", _row("smoke", SPEC))], store, calibration=calibration)
    assert [run.stored for run in plan.runs] == [True] + [False] * (len(PAPER_SEEDS) - 1)
    pending = plan.pending
    sizes = split_sizes(SPEC.data)
    work = run_work(stored, sizes)
    group = [run.spec for run in pending]
    expected = calibration.seconds(group_steps(group, sizes), work.flops * len(group))
    assert sum(run.seconds for run in pending) == pytest.approx(expected)
    totals = plan.totals()
    assert (totals["runs"], totals["stored"], totals["pending"]) == (5, 1, 4)
    assert totals["pending_train_flops"] == pytest.approx(4 * work.train_flops)
    text = format_plan(plan, "cached")
    assert "5 runs needed, 1 stored, 4 to train" in text and "Data found: mnist_bundled" in text


def test_collection_selects_like_pytest_k():
    """-k selects claim tests as pytest does; the smoke C1 tests share their runs."""
    rows = collect_claim_rows(["-k", "test_c1_"])
    assert rows and all("test_c1_" in nodeid for nodeid, _ in rows)
    assert {row.claim for _, row in rows} == {"C1"}
    context = ClaimContext(tier="smoke", gpu=False, data_root=None, store=None)
    needed = planned_specs(rows, context)
    assert len(needed) == 2 * len(PAPER_SEEDS)  # MLP L1 and L3 at lr 1.5e-2, B=32
    assert all(len(tests) == 2 for tests in needed.values())
    assert collect_claim_rows(["-k", "no_such_claim_test"]) == []


def test_cli_plan_json_uses_the_cached_calibration(tmp_path, capsys):
    device = torch.device("cpu")
    folder = calibration_dir(tmp_path)
    folder.mkdir(parents=True)
    cached = Calibration(device_key(device), device_name(device), 2e-3, 2e10, torch.__version__, "2026-01-01")
    (folder / f"{cached.device_key}.json").write_text(json.dumps(vars(cached)))
    assert load_calibration(tmp_path, device) == cached
    assert cli.main(["plan", "-k", "test_c1_deeper", "--results-dir", str(tmp_path), "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["calibration"]["step_seconds"] == 2e-3
    assert plan["totals"]["pending"] == plan["totals"]["runs"] == 2 * len(PAPER_SEEDS)
    assert plan["totals"]["estimated_seconds"] > 0
    assert all(run["claims"] == ["C1"] and run["train_flops"] > 0 for run in plan["runs"])


def test_cli_plan_without_a_cuda_calibration(tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the plan would calibrate it")
    assert cli.main(["plan", "-k", "test_c1_deeper", "--results-dir", str(tmp_path), "--device", "cuda"]) == 0
    out = capsys.readouterr().out
    assert "No time estimate: no calibration for cuda" in out and "engine" in out and " fast " in out
