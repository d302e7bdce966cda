"""``lmc-bench plan``: the runs a selection of claim tests needs, which are stored, and what the rest costs.

The claim tests declare their runs as data: each takes a :class:`lmc_bench.claims.ClaimRow`
parameter whose settings, expanded over the tier's seeds by :meth:`ClaimRecorder.specs`, are the
runs it measures. The plan collects the selected tests with pytest (so ``-k`` and ``-m`` select
exactly what ``pytest claims`` would run, and nothing is trained), expands their rows the same way
the tests do, and keys the runs by spec hash as the store does. For the runs not yet stored it
gives the FLOPs (:mod:`lmc_bench.flops`) and a time estimate (:mod:`lmc_bench.calibration`).
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import torch

from .calibration import Calibration, calibrate, load_calibration
from .claims import ClaimContext, ClaimRow, dataset_problem
from .config import ENGINES, RunSpec, spec_hash
from .data.loading import BUNDLED
from .experiment import stack_groups
from .flops import RunWork, group_steps, run_work, split_sizes
from .store import DEFAULT_RESULTS_DIR, ResultsStore

TIERS = ("smoke", "full")


def claims_dir() -> Path:
    from .claim_catalog import CLAIMS_DIR

    return CLAIMS_DIR


class _RowCollector:
    """pytest plugin that keeps the (node id, ClaimRow) of every selected item."""

    def __init__(self):
        self.rows: list[tuple[str, ClaimRow]] = []
        self.errors: list[str] = []

    def pytest_collectreport(self, report):
        if report.failed:
            self.errors.append(f"{report.nodeid}: {report.longreprtext.strip().splitlines()[-1]}")

    def pytest_collection_finish(self, session):
        from .pytest_plugin import claim_row_of

        self.rows = [(item.nodeid, row) for item in session.items if (row := claim_row_of(item)) is not None]


def collect_claim_rows(selection: Sequence[str] = ()) -> list[tuple[str, ClaimRow]]:
    """(node id, row) of every claim test that ``pytest claims <selection>`` collects (selection:
    pytest arguments such as ``-k "C1 and smoke"`` or ``-m full``), running none of them."""
    import pytest

    folder = claims_dir()
    if not folder.is_dir():
        raise FileNotFoundError(f"claim tests not found at {folder}; install from a checkout with pip install -e .")
    collector = _RowCollector()
    args = [str(folder), "--collect-only", "-q", "-p", "no:cacheprovider", "--rootdir", str(folder.parent), *selection]
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        code = pytest.main(args, plugins=[collector])
    if collector.errors or code not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        detail = "; ".join(collector.errors) or output.getvalue().strip()[-2000:]
        raise ValueError(f"collecting the claim tests ({' '.join(args)}) failed: {detail}")
    return collector.rows


@dataclass
class PlannedRun:
    spec: RunSpec
    tests: dict[str, str] = field(default_factory=dict)
    """Node id -> claim id ("C1") of every claim test that reads the run."""
    stored: bool = False
    work: RunWork | None = None
    """FLOPs; None when the dataset's size is unknown (unreadable, not in the size table)."""
    seconds: float | None = None
    """Estimated training time (pending runs with a calibration)."""

    @property
    def hash(self) -> str:
        return spec_hash(self.spec)

    def to_dict(self) -> dict:
        return {
            "hash": self.hash,
            "spec": self.spec.to_dict(),
            "claims": sorted(set(self.tests.values())),
            "tests": list(self.tests),
            "stored": self.stored,
            "train_flops": self.work.train_flops if self.work else None,
            "eval_flops": self.work.eval_flops if self.work else None,
            "estimated_seconds": self.seconds,
        }


@dataclass
class Plan:
    tier: str
    device: str
    runs: list[PlannedRun]
    datasets: dict[str, str]
    """Dataset -> "" when readable, else why not (with the layouts expected)."""
    calibration: Calibration | None = None
    data_root: str | None = None

    @property
    def pending(self) -> list[PlannedRun]:
        return [run for run in self.runs if not run.stored]

    def totals(self) -> dict:
        pending = self.pending
        known = [run for run in pending if run.work is not None]
        seconds = [run.seconds for run in pending if run.seconds is not None]
        return {
            "runs": len(self.runs),
            "stored": len(self.runs) - len(pending),
            "pending": len(pending),
            "pending_train_flops": sum(run.work.train_flops for run in known),
            "pending_eval_flops": sum(run.work.eval_flops for run in known),
            "pending_runs_without_flops": len(pending) - len(known),
            "estimated_seconds": sum(seconds) if seconds and len(seconds) == len(pending) else None,
        }

    def to_dict(self) -> dict:
        return {
            "tier": self.tier,
            "device": self.device,
            "data_root": self.data_root,
            "calibration": vars(self.calibration) if self.calibration else None,
            "datasets": {name: problem or "found" for name, problem in self.datasets.items()},
            "totals": self.totals(),
            "runs": [run.to_dict() for run in self.runs],
        }


def planned_specs(rows: Sequence[tuple[str, ClaimRow]], context: ClaimContext) -> dict[RunSpec, dict[str, str]]:
    """Every run the rows' tests measure in ``context`` (tier, device, engine), keyed like the
    store, with the tests that need it (node id -> claim id). Rows of the full tier count only in
    a full-tier plan, as in ``pytest claims --tier``."""
    needed: dict[RunSpec, dict[str, str]] = {}
    for nodeid, row in rows:
        if row.tier == "full" and context.tier != "full":
            continue
        recorder = context.recorder(row)
        for setting in row.settings:
            for spec in recorder.specs(setting):
                needed.setdefault(spec, {})[nodeid] = row.claim
    return needed


def build_plan(
    rows: Sequence[tuple[str, ClaimRow]],
    store: ResultsStore,
    tier: str = "smoke",
    device: str = "cpu",
    engine: str | None = None,
    data_root: str | None = None,
    calibration: Calibration | None = None,
) -> Plan:
    """The plan of ``rows`` for ``device`` ("cpu" or "cuda": it picks the engine, which is part of
    a run's key, as ``pytest claims [--gpu]`` does)."""
    context = ClaimContext(tier=tier, gpu=False, data_root=data_root, store=store, engine=engine, requested_device=device)
    runs = [PlannedRun(spec, tests, store.has(spec)) for spec, tests in planned_specs(rows, context).items()]
    by_spec = {run.spec: run for run in runs}
    for group in stack_groups([run.spec for run in runs if not run.stored]):
        sizes = split_sizes(group[0].data, data_root)
        if sizes is None:
            continue
        work = run_work(group[0], sizes)
        seconds = calibration.seconds(group_steps(group, sizes), work.flops * len(group)) if calibration else None
        for spec in group:
            by_spec[spec].work = work
            by_spec[spec].seconds = seconds / len(group) if seconds is not None else None
    datasets = sorted({run.spec.data.dataset for run in runs})
    problems = {name: "" if name in BUNDLED else dataset_problem(name, data_root) for name in datasets}
    return Plan(tier, device, runs, problems, calibration, data_root)


def device_calibration(results_dir: str, device: str, recalibrate: bool = False) -> tuple[Calibration | None, str]:
    """The calibration used for estimates on ``device`` and a note on where it comes from: cached,
    measured now (a few seconds), or missing (device absent here and none cached)."""
    target = torch.device(device)
    cached = None if recalibrate else load_calibration(results_dir, target)
    if cached is not None:
        return cached, "cached"
    if target.type == "cuda" and not torch.cuda.is_available():
        return None, (f"no calibration for {device} in {results_dir}: run `lmc-bench plan --device cuda` once on a "
                      "machine with the GPU (it caches one there)")
    print(f"lmc-bench: calibrating {device} (a few seconds, cached in {results_dir})...", file=sys.stderr)
    return calibrate(results_dir, target), "measured now"


# --- output ---------------------------------------------------------------------------------------


def format_flops(flops: float) -> str:
    for scale, unit in ((1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M")):
        if flops >= scale:
            return f"{flops / scale:.3g} {unit}"
    return f"{flops:.3g} "


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _configuration(spec: RunSpec) -> tuple:
    data, train = spec.data, spec.train
    shift = {"covariate": "50/50", "label_imbalance": f"{data.imbalance_x}/{100 - data.imbalance_x}", "none": "none"}[data.shift]
    extras = [x for x in (data.normalization == "unit" and "[0,1]", train.init == "independent" and "indep. init",
                          spec.eval.on_train and "on train", spec.eval.bn_mode == "recompute" and "BN recomputed") if x]
    return (spec.model, data.dataset, shift, train.noise, train.batch_size, f"{train.lr:g}", train.epochs, spec.engine, ", ".join(extras))


HEADER = ("model", "dataset", "split", "noise", "B", "lr", "ep", "engine", "other", "seeds", "stored", "FLOP", "time", "claims")


def format_plan(plan: Plan, calibration_note: str = "") -> str:
    """The plan as a table, one row per configuration (its seeds together), then totals."""
    groups: dict[tuple, list[PlannedRun]] = {}
    for run in plan.runs:
        groups.setdefault(_configuration(run.spec), []).append(run)
    rows = [HEADER]
    for config, runs in groups.items():
        pending = [run for run in runs if not run.stored]
        flops = sum(run.work.flops for run in pending if run.work) if all(run.work for run in pending) else None
        seconds = [run.seconds for run in pending]
        claims = sorted({claim for run in runs for claim in run.tests.values()})
        rows.append((*map(str, config), str(len(runs)), str(len(runs) - len(pending)),
                     "-" if not pending else (format_flops(flops) if flops is not None else "?"),
                     "-" if not pending else format_seconds(sum(seconds) if None not in seconds else None),
                     ", ".join(claims)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER) - 1)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1] for row in rows]
    totals = plan.totals()
    lines += ["", f"Tier {plan.tier}, device {plan.device}: {totals['runs']} runs needed, {totals['stored']} stored, "
              f"{totals['pending']} to train."]
    if totals["pending"]:
        flops = totals["pending_train_flops"] + totals["pending_eval_flops"]
        line = (f"To train: {format_flops(flops)}FLOP ({format_flops(totals['pending_train_flops'])}FLOP training, "
                f"{format_flops(totals['pending_eval_flops'])}FLOP evaluation)")
        if totals["pending_runs_without_flops"]:
            line += f", not counting {totals['pending_runs_without_flops']} runs whose dataset size is unknown"
        lines.append(line + f"; estimated time {format_seconds(totals['estimated_seconds'])}.")
    if plan.calibration:
        lines.append(f"Speed model ({calibration_note}): {plan.calibration.describe()}.")
    elif calibration_note:
        lines.append(f"No time estimate: {calibration_note}.")
    missing = [name for name, problem in plan.datasets.items() if problem]
    found = [name for name in plan.datasets if name not in missing]
    if found:
        lines.append(f"Data found: {', '.join(found)}.")
    if missing:
        root = plan.data_root or "DIR"
        lines.append(f"Data missing{f' under {plan.data_root}' if plan.data_root else ''}: {', '.join(missing)} "
                     f"(`lmc-bench data status --root {root}` shows the layouts expected; "
                     f"`lmc-bench data download --root {root} NAME...` fetches MNIST, Fashion-MNIST and CIFAR-10).")
    if plan.tier == "full" and plan.device != "cuda":
        lines.append("Note: full-tier claim tests run with --gpu and read the runs of the CUDA engine choice; "
                     "plan them with --device cuda (or pass the same --engine to both).")
    return "\n".join(lines)


# --- command line ---------------------------------------------------------------------------------


def add_selection_arguments(parser) -> None:
    """Claim selection shared by ``plan`` and ``run``: tier, pytest's -k and -m."""
    parser.add_argument("--tier", choices=TIERS, default="smoke", help="default: %(default)s")
    parser.add_argument("-k", dest="keyword", default=None, help="pytest -k expression over the claim tests")
    parser.add_argument("-m", dest="markexpr", default=None, help="pytest -m expression (smoke, full, gpu, slow)")


def selection_args(args) -> list[str]:
    return [*(["-k", args.keyword] if args.keyword else []), *(["-m", args.markexpr] if args.markexpr else [])]


def add_parser(subparsers) -> None:
    plan = subparsers.add_parser("plan", help="list the runs the selected claims need, stored or to train, FLOPs and time")
    add_selection_arguments(plan)
    plan.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="device the runs will train on (default: %(default)s)")
    plan.add_argument("--engine", choices=ENGINES, default=None, help="as passed to pytest claims / lmc-bench verify")
    plan.add_argument("--data-root", default=None)
    plan.add_argument("--recalibrate", action="store_true", help="measure the device's speed again")
    plan.add_argument("--json", action="store_true", help="print the plan as JSON")
    plan.add_argument("--results-dir", default=DEFAULT_RESULTS_DIR, help="results store (default: %(default)s)")
    plan.set_defaults(handler=main)


def main(args) -> int:
    store = ResultsStore(args.results_dir)
    rows = collect_claim_rows(selection_args(args))
    plan = build_plan(rows, store, args.tier, args.device, args.engine, args.data_root)
    note = ""
    if plan.pending:
        calibration, note = device_calibration(args.results_dir, args.device, args.recalibrate)
        plan = build_plan(rows, store, args.tier, args.device, args.engine, args.data_root, calibration)
    print(json.dumps(plan.to_dict(), indent=1) if args.json else format_plan(plan, note))
    return 0
