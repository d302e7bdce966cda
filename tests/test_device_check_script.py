"""benchmarks/device_check.sh on the CPU: ``--device cpu --dry-run`` prints every step's command and
runs a tiny version of each, appending its figures to a file of its own."""

import os
import subprocess
import sys

from tests.conftest import REPO_ROOT

SCRIPT = REPO_ROOT / "benchmarks" / "device_check.sh"
STEPS = {
    "gate": "tests/test_device_gate.py --device cpu",
    "benchmark": "benchmarks/test_engines.py -p no:xdist --benchmark-only",
    "b4": "claims/test_beyond_paper.py --tier full --device cpu -k B4-full-mlp_l3-fashion_mnist-lr1e-3-B32",
    "roofline": "benchmarks/roofline.py",
}


def run_script(*args, timeout=900):
    env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    return subprocess.run(["bash", str(SCRIPT), *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def test_dry_run_on_the_cpu_runs_every_step_small(tmp_path):
    published = (REPO_ROOT / "benchmarks" / "RESULTS.md").read_text()
    result = run_script("--device", "cpu", "--dry-run", "--work-dir", str(tmp_path))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    for step, command in STEPS.items():
        assert f"== {step}: would run: " in result.stdout and command in result.stdout, step
        assert f"== {step}: passed" in result.stdout, step
    appended = (tmp_path / "RESULTS.md").read_text()
    assert "## Device check: " in appended and "(dry run: tiny versions of the steps)" in appended
    assert "| gate | passed |" in appended and "| mlp_l1 | same | 1 | 32 | fast |" in appended
    assert "| run hash | seed |" in appended and "measured / roofline" in appended and "forward + backward (s)" in appended
    assert (REPO_ROOT / "benchmarks" / "RESULTS.md").read_text() == published


def test_bad_options_stop_before_any_step():
    assert subprocess.run(["bash", "-n", str(SCRIPT)]).returncode == 0
    result = run_script("--device", "tpu", timeout=60)
    assert result.returncode == 2 and "--device must be cuda or cpu" in result.stderr
    assert "--dry-run" in run_script("--help", timeout=60).stdout
