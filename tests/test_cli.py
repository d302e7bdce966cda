"""The command line as a user meets it: arguments checked before any work (one error line, exit 2),
listing and selecting claims, verify keeping earlier outcomes, progress that shows in a pipe."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lmc_bench import __version__, cli
from lmc_bench.claims import ClaimContext, ClaimRow, paper_setting, paper_spec
from lmc_bench.data import DATASETS
from lmc_bench.models import MODEL_NAMES
from lmc_bench.pytest_plugin import save_outcome
from lmc_bench.store import ResultsStore

REPO = Path(__file__).resolve().parents[1]
RUN = ["run", "--model", "mlp_l1", "--dataset", "digits_bundled", "--epochs", "1", "--seeds", "1"]


def run_cli(args, capsys):
    try:
        code = cli.main(args)
    except SystemExit as exit_info:
        code = exit_info.code
    return code, capsys.readouterr()


@pytest.mark.parametrize("extra, message", [
    (["--lr", "inf"], "learning rate must be positive and finite"),
    (["--lr", "-1"], "learning rate must be positive and finite"),
    (["--batch-size", "100000"], "batch size 100000 exceeds the 717 images"),
    (["--seeds", str(2**63)], "seed must be an integer in [0, 2^32)"),
    (["--device", "bogus"], "unknown device 'bogus'"),
    (["--model", "vgg11"], "not defined for dataset 'digits_bundled'"),
    (["--model", "mlp_l9"], "invalid choice: 'mlp_l9'"),
    (["--imbalance-x", "100", "--shift", "label_imbalance"], "imbalance_x must lie in (0, 100)"),
    (["--report-dir", "r"], "unrecognized arguments: --report-dir"),
])
def test_bad_arguments_fail_before_any_work(tmp_path, capsys, extra, message):
    results = tmp_path / "results"
    code, out = run_cli([*RUN, "--results-dir", str(results), *extra], capsys)
    lines = out.err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("lmc-bench: error: ") and message in lines[0], out.err
    assert not results.exists()


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_a_driver_is_refused_before_any_work(tmp_path, capsys):
    code, out = run_cli([*RUN, "--device", "cuda", "--results-dir", str(tmp_path / "r")], capsys)
    assert code == 2 and "torch sees no CUDA device" in out.err and not (tmp_path / "r").exists()


@pytest.mark.parametrize("command", [["run", *RUN[1:]], ["report"], ["verify"]])
def test_a_results_dir_that_is_a_file_is_named_with_the_fix(tmp_path, capsys, command):
    path = tmp_path / "results"
    path.write_text("")
    code, out = run_cli([*command, "--results-dir", str(path)], capsys)
    assert code == 2 and f"{path} is a file, not a folder" in out.err and "--results-dir" in out.err


@pytest.mark.parametrize("command", [["report"], ["verify"]])
def test_a_report_dir_that_cannot_be_written_is_named_with_the_fix(tmp_path, capsys, command):
    blocker = tmp_path / "file"
    blocker.write_text("")
    (tmp_path / "results").mkdir()
    code, out = run_cli([*command, "--results-dir", str(tmp_path / "results"), "--report-dir", str(blocker / "r")], capsys)
    assert code == 2 and "which is a file" in out.err and "--report-dir" in out.err


def test_report_on_a_missing_store_is_an_error(tmp_path, capsys):
    code, out = run_cli(["report", "--results-dir", str(tmp_path / "nowhere"), "--report-dir", str(tmp_path / "r")], capsys)
    assert code == 2 and "does not exist" in out.err and not (tmp_path / "r").exists()


def test_version_and_run_help_list_what_exists(capsys):
    code, out = run_cli(["--version"], capsys)
    assert code == 0 and out.out.strip() == f"lmc-bench {__version__}"
    code, out = run_cli(["run", "--help"], capsys)
    help_text = " ".join(out.out.split())
    assert code == 0 and all(name in help_text for name in (*MODEL_NAMES, *DATASETS))
    assert "--report-dir" not in help_text


def test_list_names_claims_tiers_needs_and_stored_runs(tmp_path, capsys):
    code, out = run_cli(["list", "--claim", "C9", "--all-tiers", "--results-dir", str(tmp_path)], capsys)
    assert code == 0
    assert "C9-smoke-mlp_l1-mnist_bundled-lr1e-3-B32" in out.out and "C9-full-resnet10-mnist-lr1e-3-B32" in out.out
    assert "CUDA GPU" in out.out and "0/5 runs stored" in out.out
    code, out = run_cli(["list", "-k", "C4 and smoke", "--results-dir", str(tmp_path)], capsys)
    assert code == 0 and "C3" not in out.out
    assert out.out.count("C4-smoke-") == 2  # MLP L1 and MLP L3, each listed once


@pytest.fixture
def stub_pytest(monkeypatch):
    commands = []
    monkeypatch.setattr(cli.subprocess, "call", lambda command: commands.append(command) or 0)
    return commands


EARLIER = {"nodeid": "claims/test_x.py::test_x[C1-smoke-a]", "claim": "C1", "row": "a", "test_id": "C1-smoke-a", "title": "t",
           "section": "IV", "tier": "smoke", "analogue": "", "expectation": "e", "status": "passed", "reason": "",
           "wall_seconds": 1.0, "settings": [], "checks": [], "extra": {}}


def test_verify_selects_claims_and_keeps_earlier_outcomes(tmp_path, capsys, stub_pytest):
    store = ResultsStore(tmp_path / "results")
    store.save_claim("earlier", EARLIER)
    code, out = run_cli(["verify", "--claim", "C4", "-k", "smoke", "--results-dir", str(store.root),
                         "--report-dir", str(tmp_path / "r")], capsys)
    [command] = stub_pytest
    assert code == 0 and "-m (C4) -k smoke" in " ".join(command)
    assert "-q" in command and "-v" not in command
    assert store.claim_outcome("earlier") == EARLIER


def test_verify_runs_pytest_with_the_repository_settings_from_any_folder(tmp_path, capsys, stub_pytest, monkeypatch):
    """Markers and options of pyproject.toml apply although pytest starts outside the repository."""
    monkeypatch.chdir(tmp_path)
    run_cli(["verify", "-k", "C9", "--results-dir", str(tmp_path / "s"), "--report-dir", str(tmp_path / "r")], capsys)
    [command] = stub_pytest
    result = subprocess.run([*command, "--collect-only", "-W", "error::pytest.PytestUnknownMarkWarning"], capture_output=True,
                            text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0 and "2/" in result.stdout, result.stdout + result.stderr


def test_verify_reports_an_empty_selection(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli.subprocess, "call", lambda command: 5)
    code, out = run_cli(["verify", "-k", "nothing_matches", "--results-dir", str(tmp_path / "s"), "--report-dir", str(tmp_path / "r")], capsys)
    assert code == 2 and "no claim test matches" in out.err


def test_a_skip_never_replaces_an_earlier_verdict(tmp_path):
    store = ResultsStore(tmp_path)
    save_outcome(store, "k", {"status": "passed", "n": 1})
    save_outcome(store, "k", {"status": "skipped", "n": 2})
    assert store.claim_outcome("k")["n"] == 1
    save_outcome(store, "k", {"status": "failed", "n": 3})
    assert store.claim_outcome("k")["n"] == 3


def test_smoke_rows_run_whatever_the_device_flags(tmp_path):
    """``verify --tier full --gpu`` on a machine without CUDA skips the full rows only."""
    smoke = ClaimRow("C1", "t", "IV", "smoke", (paper_setting("", paper_spec("mlp_l1", "mnist_bundled", 1e-3, 32)),), "e")
    full = ClaimRow("C1", "t", "IV", "full", (paper_setting("", paper_spec("mlp_l1", "mnist", 1e-3, 32)),), "e")
    context = ClaimContext("full", True, None, ResultsStore(tmp_path))
    assert context.missing_requirements(smoke) == ""
    if not context.cuda_available:
        assert context.device == "cpu" and "CUDA" in context.missing_requirements(full)


def test_progress_shows_a_line_per_run_without_a_tty_and_no_skip_lines(tmp_path):
    """A claim test prints one line per stored run through pytest's capture, into a pipe."""
    (tmp_path / "test_tiny_claim.py").write_text(textwrap.dedent('''
        import pytest
        from lmc_bench.claims import ClaimRow, paper_setting
        from lmc_bench.config import DataSpec, RunSpec, TrainSpec

        SPEC = RunSpec("mlp_l1", data=DataSpec(dataset="digits_bundled"), train=TrainSpec(epochs=1))
        ROWS = [ClaimRow("C0", "tiny", "-", "smoke", (paper_setting("", SPEC),), "trains"),
                ClaimRow("C0", "tiny", "-", "full", (paper_setting("", SPEC),), "skipped here")]

        @pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
        def test_tiny(row, claim):
            claim.measure(row.settings[0])
    '''))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-m", "pytest", str(tmp_path), "-q", "-r", "fE", "-p", "lmc_bench.pytest_plugin",
                             "-p", "no:cacheprovider", "--rootdir", str(tmp_path), "--results-dir", str(tmp_path / "store")],
                            capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    # five seeds, and five of the smoke setting's no-shift control
    assert result.stdout.count("lmc-bench: stored mlp_l1, digits_bundled") == 10
    assert "SKIPPED" not in result.stdout


def test_run_shows_a_diverged_run_as_such(tmp_path, capsys):
    code, out = run_cli([*RUN, "--lr", "1e30", "--device", "cpu", "--results-dir", str(tmp_path)], capsys)
    assert code == 0 and "diverged: copy A, epoch 1, training loss nan" in out.out
