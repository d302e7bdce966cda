"""Speed of one device, for the plan's time estimates: a short calibration run, cached per device.

The estimate of a group of runs trained together is::

    seconds ≈ steps · step_seconds + FLOPs / flop_rate

``step_seconds`` is the fixed cost of an optimizer step (kernel launches, Python, data indexing),
which dominates small MLPs at batch 32; ``flop_rate`` is the arithmetic speed reached by large
convolutional batches. Both are fitted to two real training runs of the engines on synthetic data
(an MLP L1 at batch 32, a ResNet10 at a large batch), each timed after a warm-up run. The fit is
a rough model: it ignores data preparation and treats evaluation like training arithmetic.

Calibrations live in ``<results-dir>/calibration/<device>.json``, so a plan made on a machine
without the device (a cluster's login node) can use one measured on it.
"""

from __future__ import annotations

import json
import platform
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from .config import DataSpec, RunSpec, TrainSpec
from .cost import synchronize
from .data.prepare import PreparedData
from .flops import SplitSizes, group_steps, run_work
from .models.registry import DATASET_SHAPES
from .store import write_json_atomic

CALIBRATION_DIR = "calibration"
SMALL = ("mlp_l1", "mnist", 32, 16)
"""Latency workload: model, input shape, batch size, steps per copy."""
LARGE = {"cuda": ("resnet10", "cifar10", 256, 4), "cpu": ("resnet10", "cifar10", 64, 2)}
"""Arithmetic workload per device type (smaller on a CPU, to stay within seconds)."""
CALIBRATION_SEEDS = (1, 2, 3, 4, 5)
TEST_IMAGES = 64


@dataclass(frozen=True)
class Calibration:
    device_key: str
    device_name: str
    step_seconds: float
    flop_rate: float
    """FLOP per second."""
    torch_version: str
    measured_at: str

    def seconds(self, steps: int, flops: float) -> float:
        return steps * self.step_seconds + flops / self.flop_rate

    def describe(self) -> str:
        return (f"{self.device_name}, calibrated {self.measured_at}: "
                f"{self.step_seconds * 1e3:.3g} ms per step + {self.flop_rate / 1e9:.3g} GFLOP/s")


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} threads"


def device_key(device: torch.device) -> str:
    """File-name-safe key of the device kind ("cuda-nvidia-h200", "cpu-x86_64-cpu-2-threads")."""
    return f"{device.type}-" + re.sub(r"[^a-z0-9_]+", "-", device_name(device).lower()).strip("-")


def calibration_dir(results_dir: str | Path) -> Path:
    return Path(results_dir).expanduser() / CALIBRATION_DIR


def load_calibration(results_dir: str | Path, device: torch.device) -> Calibration | None:
    """The cached calibration of ``device``; for a device type this machine lacks, the newest one
    cached for that type (measured on another machine sharing the results store), else None."""
    folder = calibration_dir(results_dir)
    available = device.type != "cuda" or torch.cuda.is_available()
    if available:
        paths = [folder / f"{device_key(device)}.json"]
    else:
        paths = sorted(folder.glob(f"{device.type}-*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in paths:
        if path.is_file():
            return Calibration(**json.loads(path.read_text()))
    return None


def calibrate(results_dir: str | Path, device: str | torch.device) -> Calibration:
    """Time the two workloads on ``device``, fit the speed model, cache and return it."""
    from .experiment import default_engine, train_pairs

    device = torch.device(device)
    timings = []
    for model, dataset, batch, steps in (SMALL, LARGE["cuda" if device.type == "cuda" else "cpu"]):
        engine = default_engine(model, device)
        seeds = CALIBRATION_SEEDS if engine == "fast" else CALIBRATION_SEEDS[:1]
        spec = RunSpec(model=model, data=DataSpec(dataset=dataset), train=TrainSpec(lr=1e-3, batch_size=batch, epochs=1), engine=engine)
        specs = [spec.replace(seed=s) for s in seeds]
        train_pairs(specs, _synthetic_data(dataset, batch), device)  # warm-up: allocations, kernel selection
        data = _synthetic_data(dataset, batch * steps)
        synchronize(device)
        start = time.perf_counter()
        train_pairs(specs, data, device)
        synchronize(device)
        seconds = time.perf_counter() - start
        sizes = SplitSizes(batch * steps, batch * steps, 2 * batch * steps, TEST_IMAGES)
        timings.append((group_steps(specs, sizes), run_work(spec, sizes).flops * len(specs), seconds))
    step_seconds, flop_rate = fit_speed(*timings)
    calibration = Calibration(device_key(device), device_name(device), step_seconds, flop_rate, torch.__version__,
                              time.strftime("%Y-%m-%d"))
    write_json_atomic(calibration_dir(results_dir) / f"{calibration.device_key}.json", asdict(calibration))
    return calibration


def fit_speed(small: tuple[int, float, float], large: tuple[int, float, float]) -> tuple[float, float]:
    """(step_seconds, flop_rate) solving ``seconds = steps · step_seconds + flops / flop_rate`` for
    two (steps, flops, seconds) timings; when timing noise makes a coefficient negative, the large
    workload sets the rate and the small one the step cost."""
    (s1, f1, t1), (s2, f2, t2) = small, large
    det = s1 * f2 - s2 * f1
    if det != 0:
        step_seconds, seconds_per_flop = (t1 * f2 - t2 * f1) / det, (s1 * t2 - s2 * t1) / det
        if step_seconds >= 0 and seconds_per_flop > 0:
            return step_seconds, 1.0 / seconds_per_flop
    seconds_per_flop = t2 / f2
    return max(0.0, (t1 - f1 * seconds_per_flop) / s1), 1.0 / seconds_per_flop


def _synthetic_data(dataset: str, n: int) -> PreparedData:
    """Random images of ``dataset``'s shape: two subsets of ``n`` and a small test set."""
    shape = DATASET_SHAPES[dataset]
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2 * n, shape.channels, shape.height, shape.width, generator=generator)
    y = torch.randint(0, shape.n_classes, (2 * n,), generator=generator)
    return PreparedData(train_x=x, train_y=y, subset_a=torch.arange(n), subset_b=torch.arange(n, 2 * n),
                        test_x=x[:TEST_IMAGES], test_y=y[:TEST_IMAGES])
