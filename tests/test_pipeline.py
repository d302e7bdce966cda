"""End to end on the bundled 8x8 digits: train a pair, interpolate, store, report, CLI."""

import json

import pytest
import torch

from lmc_bench import cli
from lmc_bench.claims import ClaimContext, ClaimRecorder, ClaimRow, Setting
from lmc_bench.config import DataSpec, EvalSpec, RunSpec, TrainSpec
from lmc_bench.experiment import run_experiments
from lmc_bench.report import build_report, summary_rows
from lmc_bench.store import ResultsStore

SPEC = RunSpec(model="mlp_l1_bn", data=DataSpec(dataset="digits_bundled"), train=TrainSpec(lr=1e-3, batch_size=64, epochs=2))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return ResultsStore(tmp_path_factory.mktemp("results"))


@pytest.fixture(scope="module")
def record(store):
    return run_experiments([SPEC], store, "cpu", show_progress=False)[0]


def test_record_holds_curves_path_and_metrics(record):
    assert len(record["history"]["a"]["train_loss"]) == 2
    assert record["path"]["lambdas"] == list(SPEC.eval.lambdas)
    metrics = record["metrics"]
    assert metrics["barrier"] >= 0 and -100 <= metrics["delta"] <= 100
    assert 0 <= metrics["angle"] <= 180
    assert metrics["noise_scale"] == pytest.approx(1e-3 * (record["subset_sizes"][0] / 64 - 1))


def test_path_endpoints_are_the_trained_models(store, record):
    tensors = store.load_tensors(RunSpec.from_dict(record["spec"]))
    assert tensors["path_log_probs"].shape[:2] == (len(SPEC.eval.lambdas), record["test_size"])
    assert record["path"]["test_acc"][0] == pytest.approx(record["history"]["a"]["test_acc"][-1])
    assert record["path"]["test_acc"][-1] == pytest.approx(record["history"]["b"]["test_acc"][-1])


def test_same_seed_gives_bit_identical_weights(tmp_path, store, record):
    again = ResultsStore(tmp_path)
    run_experiments([SPEC], again, "cpu", show_progress=False)
    stored = RunSpec.from_dict(record["spec"])
    first, second = store.load_tensors(stored), again.load_tensors(stored)
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_bn_recompute_mode_is_a_separate_run(store, record):
    recomputed = SPEC.replace(eval=EvalSpec(bn_mode="recompute"))
    other = run_experiments([recomputed], store, "cpu", show_progress=False)[0]
    assert other["hash"] != record["hash"]
    middle = len(SPEC.eval.lambdas) // 2
    assert other["path"]["test_loss"][middle] != record["path"]["test_loss"][middle]


def test_report_is_self_contained(store, record, tmp_path):
    paths = build_report(store, tmp_path / "reports")
    html = paths["html"].read_text()
    assert "<style>" in html and "<script" not in html and "<link" not in html
    assert json.loads(paths["json"].read_text()) == []
    assert "Runs no claim asked for" in paths["md"].read_text()


def test_cli_report_and_usage_errors(store, record, tmp_path, capsys):
    assert cli.main(["report", "--results-dir", str(store.root), "--report-dir", str(tmp_path / "r")]) == 0
    assert (tmp_path / "r" / "report.html").is_file()
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["verify", "--tier", "huge"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_cli_run_reports_unknown_model(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["run", "--model", "mlp_l9", "--results-dir", str(tmp_path), "--seeds", "1"])
    assert exit_info.value.code == 2 and "mlp_l9" in capsys.readouterr().err


def test_polar_angles_run_from_zero_to_the_pair_angle(record):
    from lmc_bench.plots import path_angles

    angles = path_angles(record)
    assert angles[0] == pytest.approx(0, abs=1e-3)
    assert angles[-1] == pytest.approx(record["metrics"]["angle"], rel=1e-6)
    assert (angles >= 0).all()


def test_claims_refuse_anything_but_fp32(tmp_path):
    """bf16 is for exploration (``lmc-bench run --precision bf16``), never for a claim's verdict."""
    row = ClaimRow("C1", "title", "IV-A", "smoke", (), "stable")
    recorder = ClaimRecorder(ClaimContext("smoke", False, None, ResultsStore(tmp_path)), row)
    spec = RunSpec("mlp_l1", train=TrainSpec(precision="bf16"))
    with pytest.raises(ValueError, match="fp32"):
        recorder.specs(Setting("MLP L1 bf16", spec))
    specs = recorder.specs(Setting("MLP L1", RunSpec("mlp_l1")))
    assert [s.train.precision for s in specs] == ["fp32"] * len(recorder.context.seeds) and specs


def test_cli_run_accepts_precision_and_stores_it(tmp_path, capsys):
    args = ["run", "--model", "mlp_l1", "--dataset", "digits_bundled", "--epochs", "1", "--seeds", "1",
            "--precision", "bf16", "--results-dir", str(tmp_path)]
    assert cli.main(args + ["--device", "cpu"]) == 0
    [record] = ResultsStore(tmp_path).records()
    assert record["spec"]["train"]["precision"] == "bf16"
    assert "slower than fp32" in capsys.readouterr().err


def test_summary_names_what_a_comparison_asserts():
    """A claim over two settings gets one line with its assertion and verdict, then a line per setting."""
    setting = lambda label, delta: {"label": label, "seeds": [1, 20], "paper": {},
                                    "measured": {"barrier": [0.0, 0.0], "delta": [delta, 1.0]}}
    outcome = {"claim": "C1", "row": "L1 loses less than L3", "status": "passed", "tier": "smoke",
               "analogue": "N = 2,000", "wall_seconds": 3.0,
               "settings": [setting("mlp_l1", -1.0), setting("mlp_l3", -40.0)]}
    single = {**outcome, "row": "mlp_l1", "status": "not reproduced", "settings": [setting("mlp_l1", -1.0)]}
    rows = summary_rows([outcome, single])
    assert [row[:2] for row in rows] == [["C1", "L1 loses less than L3"], ["", "↳ mlp_l1"], ["", "↳ mlp_l3"], ["C1", "mlp_l1"]]
    assert [getattr(row[4], "words", row[4]) for row in rows] == ["reproduced", "", "", "not reproduced (known finding)"]
    assert rows[2][3] == "0 ± 0 / -40 ± 1"


def test_verify_full_tier_names_what_is_missing(tmp_path, monkeypatch, capsys):
    """Without a GPU and a data root, ``verify --tier full`` says which claims skip and why, then
    runs the claim tests (here replaced by a stub) and writes the report."""
    commands = []
    monkeypatch.setattr(cli.subprocess, "call", lambda command: commands.append(command) or 0)
    code = cli.main(["verify", "--tier", "full", "--data-root", str(tmp_path / "data"),
                     "--results-dir", str(tmp_path / "store"), "--report-dir", str(tmp_path / "reports")])
    err = capsys.readouterr().err
    assert code == 0 and "--tier" in commands[0] and "full" in commands[0]
    assert commands[0][commands[0].index("--device") + 1] == "auto"
    assert "without a CUDA device" in err and "--device cpu" in err
    for dataset, name in (("mnist", "MNIST"), ("fashion_mnist", "Fashion-MNIST"), ("cifar10", "CIFAR-10")):
        assert f"claims on {dataset} are skipped: {name}: not found under data root {tmp_path / 'data'}" in err
    assert "--data-root" in err and (tmp_path / "reports" / "report.html").is_file()


def test_summary_names_metrics_other_than_barrier_and_delta():
    """C2b compares a training-data Δ that the paper gives as one approximate number; a paper entry
    the runs do not measure (Table III's ensemble figures) stays out of the summary."""
    measured = {"barrier": [1.2, 0.1], "delta": [-5.0, 1.0], "train_a_delta": [-6.0, 2.5]}
    setting = {"label": "mlp_l3", "seeds": [1], "measured": measured, "paper": {"train_a_delta": [-80.0, None]}}
    outcome = {"claim": "C2b", "row": "mlp_l3", "status": "passed", "tier": "smoke", "analogue": "",
               "wall_seconds": 1.0, "settings": [setting]}
    assert summary_rows([outcome])[0][2:4] == ["training-data Δ ≈ -80", "training-data Δ -6 ± 2.5"]
    setting["paper"] = {"wa_lmc": [0.4, 0.1]}
    assert summary_rows([outcome])[0][2:4] == ["– / –", "1.2 ± 0.1 / -5 ± 1"]
