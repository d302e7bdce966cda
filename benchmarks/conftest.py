"""Benchmark session: device, data, the matmul ceiling, and a summary table of all figures.

Run: ``.venv/bin/python -m pytest benchmarks -p no:xdist --benchmark-only -q`` (add ``--gpu`` to
time on CUDA, ``--precision bf16`` to time both engines' training steps under bfloat16 autocast).
Every benchmark appends a row to :data:`ROWS` (fixture ``bench_rows``); the terminal summary prints
them as the Markdown tables kept in ``benchmarks/RESULTS.md``, with the device, threads and load average.
"""

from __future__ import annotations

import os
import platform
import subprocess

import pytest
import torch

from lmc_bench.config import PRECISIONS, DataSpec
from lmc_bench.cost import matmul_rate
from lmc_bench.devices import resolve_device
from lmc_bench.data.prepare import prepare_data

ROWS: list[dict] = []
CEILING: dict[str, float] = {}
CEILING_SIZE = 2048
CEILING_REPEATS = 10


def pytest_addoption(parser):
    parser.addoption("--precision", choices=PRECISIONS, default="fp32",
                     help="training numerics of the engine benchmarks (default: %(default)s)")


@pytest.fixture(scope="session")
def precision(request) -> str:
    CEILING["precision"] = request.config.getoption("--precision")
    return CEILING["precision"]


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "cpu"
    names = [line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")]
    return names[0] if names else platform.processor() or "cpu"


def device_description(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{cpu_name()}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads"


@pytest.fixture(scope="session")
def bench_rows() -> list[dict]:
    """Rows of the summary table; each benchmark appends its figures."""
    return ROWS


@pytest.fixture(scope="session")
def device(request) -> torch.device:
    """CUDA with ``--gpu`` (in the fp32 numerics every run uses there), else the CPU."""
    if request.config.getoption("--gpu"):
        if not torch.cuda.is_available():
            pytest.skip("--gpu given but CUDA is not available")
        return resolve_device("cuda")
    return torch.device("cpu")


@pytest.fixture(scope="session")
def mnist():
    return prepare_data(DataSpec())


@pytest.fixture(scope="session")
def matmul_ceiling(device) -> float:
    """Best fp32 GFLOP/s of a square matmul on the device, measured in this run."""
    if "gflops" not in CEILING:
        CEILING["gflops"] = matmul_rate(str(device), CEILING_SIZE, CEILING_REPEATS) / 1e9
        CEILING["device"] = device_description(device)
        CEILING["load_start"] = os.getloadavg()[0]
    return CEILING["gflops"]


def _speedups() -> dict[tuple, float]:
    naive = {r["case"]: r["seconds_min"] for r in ROWS if r.get("engine") == "naive"}
    return {r["case"]: naive[r["case"]] / r["seconds_min"] for r in ROWS if r.get("engine") == "fast" and r["case"] in naive}


def pytest_terminal_summary(terminalreporter):
    if not ROWS and not CEILING:
        return
    write = terminalreporter.write_line
    write("")
    write(f"device: {CEILING.get('device', '?')}; torch {torch.__version__}; "
          f"training precision {CEILING.get('precision', 'fp32')}; "
          f"fp32 matmul ceiling {CEILING.get('gflops', float('nan')):.1f} GFLOP/s ({CEILING_SIZE}^3, best of {CEILING_REPEATS}); "
          f"load average {CEILING.get('load_start', float('nan')):.2f} at start, {os.getloadavg()[0]:.2f} at end")
    speedups = _speedups()
    _write_table(write, ["model", "noise", "M", "B", "engine", "s/round (min / median)", "model-epochs/s", "images/s",
                         "GFLOP/s", "% ceiling", "fast/naive"],
                 [[r["model"], r["noise"], r["m"], r["batch_size"], r["engine"],
                   f"{r['seconds_min']:.3f} / {r['seconds_median']:.3f}", f"{r['model_epochs_per_s']:.2f}",
                   f"{r['images_per_s']:.0f}", f"{r['gflops']:.1f}", f"{r['percent_of_ceiling']:.1f}",
                   f"{speedups[r['case']]:.2f}x" if r["engine"] == "fast" and r["case"] in speedups else ""]
                  for r in ROWS if "model_epochs_per_s" in r])
    _write_table(write, ["BigEarthNet input", "patches", "s (min)", "patches/s"],
                 [[r["io"], r["patches"], f"{r['seconds']:.3f}", f"{r['patches_per_s']:.0f}"] for r in ROWS if "io" in r])
    _write_table(write, ["stacking strategy (training step)", "M", "B", "ms/step (min / median)", "ms per model-step"],
                 [[r["strategy"], r["m"], r["batch_size"], f"{r['step_ms']:.2f} / {r['step_ms_median']:.2f}",
                   f"{r['step_ms'] / r['m']:.3f}"]
                  for r in ROWS if "step_ms" in r])
    _write_table(write, ["model", "work", "s", "images", "ms/image", "epoch of the pair (s, images)", "x epoch"],
                 [[r["model"], r["what"], f"{r['cost_seconds']:.2f}", r["images"], f"{r['ms_per_image']:.2f}",
                   f"{r['epoch_seconds']:.2f}, {r['epoch_images']}", f"{r['ratio']:.2f}"]
                  for r in ROWS if "cost_seconds" in r])


def _write_table(write, header: list[str], rows: list[list]) -> None:
    """A Markdown table after a blank line; nothing when there are no rows."""
    if not rows:
        return
    write("")
    write("| " + " | ".join(header) + " |")
    write("|" + "---|" * len(header))
    for row in rows:
        write("| " + " | ".join(str(cell) for cell in row) + " |")
