"""Claims of the paper as data: what each claim test measures, the paper's numbers, the verdict rule.

A :class:`ClaimRow` is one parameter of a claim test (usually one row of a paper table). It holds
one or more :class:`Setting` s (a run configuration trained over all seeds) with the paper's
mean ± std. The :class:`ClaimRecorder` handed to the test trains or reads the runs and writes down
paper vs measured numbers; the pytest plugin stores them with the test's status for the report.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import operator
import re
from dataclasses import dataclass, field

import numpy as np

from .config import AUTO_ENGINE, PAPER_SEEDS, DataSpec, EvalSpec, RunSpec, TrainSpec
from .data.loading import BUNDLED
from .devices import device_type
from .metrics import is_stable, noise_scale
from .naming import describe_spec, format_lr, spec_id_parts, variation_kinds
from .paper_statistics import versus_paper
from .paper_tables import paper_numbers

STABLE_THRESHOLD_PP = -5.0
"""Δ at or above −5 percentage points counts as stable (LMC): the dashed line of Fig. 4."""

PAPER_SUBSET_SIZE = {"mnist": 29_997, "fashion_mnist": 30_000, "cifar10": 25_000}
"""Training-subset sizes of the 50/50 split (Appendix C for MNIST and CIFAR-10; Fashion-MNIST, which
the paper does not use, has 6,000 images per class, so Algorithm 1 keeps all 60,000)."""

CONTROL_TOLERANCE = 1e-5
"""Largest barrier (and |Δ| in pp) of a flat control path: Appendix B's "flat to 1e-5"."""

SUMMARY_METRICS = ("barrier", "delta", "barrier_frankle", "delta_midpoint", "angle", "manhattan",
                   "final_train_loss", "noise_scale")


def settings_id(settings) -> str:
    """Self-describing id of a group of settings: what they share, then what differs, joined by "-vs-"
    (e.g. ``resnet10-mnist-lr1e-3-B32-vs-B256-vs-B1024``); a setting that differs only by keeping a
    default is named by it (``mlp_l1-mnist_bundled-lr1e-3-B64-centred-vs-unit01``)."""
    shared, differing = _shared_and_differing([spec_id_parts(s.spec) for s in settings])
    if len(settings) > 1 and not all(differing):
        varied = set().union(*(variation_kinds(s.spec) for s in settings))
        shared, differing = _shared_and_differing([spec_id_parts(s.spec, varied) for s in settings])
    return "-".join(shared + (["-vs-".join(differing)] if len(settings) > 1 else []))


def _shared_and_differing(parts: list[list[str]]) -> tuple[list[str], list[str]]:
    shared = [p for p in parts[0] if all(p in other for other in parts)]
    return shared, ["-".join(p for p in own if p not in shared) for own in parts]


@dataclass(frozen=True)
class Setting:
    """One configuration, trained for every seed of the tier; ``paper`` maps a metric to the
    paper's (mean, std), e.g. ``{"barrier": (2.35, 1.97), "delta": (-17.82, 7.91)}``; std None where the
    paper gives one approximate number (C2b: ``{"train_a_delta": (-80.0, None)}``)."""

    label: str
    spec: RunSpec
    paper: dict = field(default_factory=dict, hash=False, compare=False)
    paper_config: str = ""
    """For a scaled analogue: the paper's configuration it stands for, e.g. "mnist, lr 1e-3, B=32"."""
    paper_noise_scale: float | None = None
    paper_statement: str = ""
    """Where the paper gives no number for this setting (C5): its qualitative statement, shown beside ours."""
    paper_spec: RunSpec | None = field(default=None, hash=False, compare=False)
    """The paper's configuration this setting measures (itself) or stands for (an analogue)."""


@dataclass(frozen=True)
class Trend:
    """The check of a comparison row: ``metric`` is ``direction`` ("lower" or "higher") in the
    last setting than in the first, on the mean over seeds or, with ``every_seed``, seed by seed."""

    metric: str
    direction: str
    every_seed: bool = False

    def __post_init__(self):
        _require(self.direction, ("lower", "higher"), "trend direction")

    def holds(self, first: "Measurement", last: "Measurement") -> bool:
        before, after = (first.values(self.metric), last.values(self.metric)) if self.every_seed else \
            (first.mean(self.metric), last.mean(self.metric))
        return bool(np.all(after < before if self.direction == "lower" else after > before))

    def describe(self, first_label: str, last_label: str) -> str:
        scope = "on every seed" if self.every_seed else "mean over seeds"
        return f"{self.metric} {self.direction} in {last_label} than in {first_label} ({scope})"


@dataclass(frozen=True)
class Bound:
    """The check of a single setting against a threshold: the mean of ``metric`` over seeds is
    below (``"<"``), above (``">"``) or at least (``">="``) ``value``."""

    metric: str
    op: str
    value: float

    def __post_init__(self):
        _require(self.op, tuple(BOUND_OPERATORS), "bound operator")

    def holds(self, measurement: "Measurement") -> bool:
        return bool(BOUND_OPERATORS[self.op](measurement.mean(self.metric), self.value))

    def describe(self) -> str:
        return f"mean {self.metric} {self.op.replace('>=', '≥')} {self.value:g}"


BOUND_OPERATORS = {"<": operator.lt, ">": operator.gt, ">=": operator.ge}


VERDICTS = ("stable", "unstable")


def _require(value, allowed, what):
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(map(repr, allowed))}")


@dataclass(frozen=True, eq=False)
class ClaimRow:
    """One parameter of a claim test. Its check is data: ``trends`` (comparisons of the last setting
    with the first), ``bounds`` (thresholds on the first setting), ``verdict`` (the expected
    verdict, "stable" or "unstable", of the last setting) and ``baseline_verdict`` (that of the
    first setting of a comparison: the premise that gives the comparison its power, e.g. "the
    un-remedied case is unstable"); ``expectation`` says the same in words for the report."""

    claim: str
    title: str
    section: str
    tier: str
    settings: tuple[Setting, ...]
    expectation: str
    """What the test asserts, in words."""
    analogue: str = ""
    """Non-empty for scaled analogues: how the analogue departs from the paper's configuration."""
    kind: str = "claim"
    """"claim", or "pipeline check": the claim's pipeline run on data too small to be evidence; the
    report shows it as such, never as reproduced or not."""
    verdict: str = ""
    baseline_verdict: str = ""
    trends: tuple[Trend, ...] = ()
    bounds: tuple[Bound, ...] = ()
    headline: tuple[str, ...] = ("barrier", "delta")
    """The metrics the report's summary shows for this row (paper beside measured)."""

    def __post_init__(self):
        for verdict in (self.verdict, self.baseline_verdict):
            if verdict:
                _require(verdict, VERDICTS, "verdict")
        if self.baseline_verdict and len(self.settings) < 2:
            raise ValueError(f"{self.claim}: a baseline verdict needs a comparison (two or more settings)")

    @property
    def id(self) -> str:
        """Test id: claim, tier and the settings, e.g. ``C3-full-resnet10-mnist-lr1e-3-B32-vs-B256-vs-B1024``."""
        return f"{self.claim}-{self.tier}-{settings_id(self.settings)}"

    @property
    def label(self) -> str:
        """Readable name: the setting's label, or what a comparison asserts."""
        return self.settings[0].label if len(self.settings) == 1 else self.expectation

    def datasets(self) -> set[str]:
        return {s.spec.data.dataset for s in self.settings}


def paper_noise_scale(dataset: str, lr: float, batch_size: int) -> float:
    """g = ε(N/B − 1) of a paper configuration (N = the paper's 50/50 subset size)."""
    return noise_scale(lr, PAPER_SUBSET_SIZE[dataset], batch_size)


def control_spec(spec: RunSpec) -> RunSpec:
    """``spec`` without its data shift and noise difference: shared Θ0, copy B on copy A's data
    (under the domain shift: copy A's band selection), same SGD noise (Appendix B's
    reproducibility check as the control of every comparison)."""
    data = {"data.bands": (spec.data.bands[0],) * 2} if spec.data.shift == "domain" else {"data.shift": "none"}
    return spec.replace(**data, **{"train.noise": "same", "train.init": "shared"})


@dataclass
class Measurement:
    """All seeds of one setting: the stored records and per-metric arrays, and (smoke tier) the
    measurement of its no-shift control."""

    setting: Setting
    records: list[dict]
    control: "Measurement | None" = None

    def values(self, metric: str) -> np.ndarray:
        return np.array([r["metrics"][metric] for r in self.records], dtype=float)

    def mean(self, metric: str) -> float:
        return float(self.values(metric).mean())

    def std(self, metric: str) -> float:
        """Sample standard deviation over seeds (ddof = 1, 0 for a single seed)."""
        v = self.values(metric)
        return float(v.std(ddof=1)) if len(v) > 1 else 0.0

    def summary_metrics(self, extra: tuple[str, ...] = ()) -> list[str]:
        """The metrics every summary carries, and any other per-run metric the paper gives for this
        setting or ``extra`` names (ensemble figures such as Table III's are added by the claim test)."""
        wanted = [*self.setting.paper, *extra]
        others = [k for k in dict.fromkeys(wanted) if k not in SUMMARY_METRICS and all(k in r["metrics"] for r in self.records)]
        return [*SUMMARY_METRICS, *others]

    def summary(self, extra: tuple[str, ...] = ()) -> dict:
        return {
            "label": self.setting.label,
            "spec": {**self.setting.spec.to_dict(), "seed": None},
            "seeds": [r["spec"]["seed"] for r in self.records],
            "hashes": [r["hash"] for r in self.records],
            "paper": {k: list(v) for k, v in self.setting.paper.items()},
            "paper_config": self.setting.paper_config,
            "paper_noise_scale": self.setting.paper_noise_scale,
            "paper_statement": self.setting.paper_statement,
            "measured": {m: [self.mean(m), self.std(m)] for m in self.summary_metrics(extra)},
            "per_seed": {m: self.values(m).tolist() for m in self.summary_metrics(extra)},
        }

    def describe(self, metric: str) -> str:
        diverged = [f"seed {r['spec']['seed']} at epoch {r['divergence']['epoch']}" for r in self.records if r.get("diverged")]
        return (f"{self.setting.label}: {metric} {self.mean(metric):.3g} ± {self.std(metric):.2g} "
                f"(per seed {np.round(self.values(metric), 3).tolist()})" + (f"; diverged: {', '.join(diverged)}" if diverged else ""))


@dataclass
class ClaimContext:
    """Session-wide options of the claim suite."""

    tier: str
    gpu: bool
    data_root: str | None
    store: object
    engine: str | None = None
    requested_device: str = "auto"
    """``--device``: "auto" (CUDA when available; ``--gpu`` means CUDA), "cpu" or "cuda"."""

    @property
    def seeds(self) -> tuple[int, ...]:
        return PAPER_SEEDS

    @property
    def cuda_available(self) -> bool:
        import torch

        return torch.cuda.is_available()

    @property
    def device(self) -> str:
        """Where this session trains (only a claim's speed depends on it): ``--device`` when named,
        else CUDA when torch sees a device, else the CPU (``--gpu`` only pins xdist workers to GPUs)."""
        if self.requested_device != "auto":
            return self.requested_device
        return "cuda" if self.cuda_available else "cpu"

    def missing_requirements(self, row: ClaimRow) -> str:
        """Why ``row`` cannot run in this session ("" when it can). Smoke rows need neither a GPU
        nor a data root, whatever the device flags say. A full-tier row on a CPU that the user did
        not name is skipped with its estimated cost, so that it runs only on request."""
        if row.tier == "full" and self.tier != "full":
            return "full-tier claim: run with --tier full --data-root DIR (on a GPU, or on the CPU with --device cpu)"
        if self.device == "cuda" and not self.cuda_available:
            return "--device cuda given but torch sees no CUDA device; use --device cpu or auto"
        if row.tier == "full" and self.gpu and not self.cuda_available:
            return "--gpu given but torch sees no CUDA device (the smoke claims run on the CPU)"
        for dataset in sorted(row.datasets() - set(BUNDLED)):
            problem = dataset_problem(dataset, self.data_root)
            if problem:
                return problem
        if row.tier == "full" and self.device == "cpu" and self.requested_device == "auto":
            return f"full-tier claim without a CUDA device: {self.cpu_cost(row)}; pass --device cpu to train it on the CPU (choose rows with -k)"
        return ""

    def cpu_cost(self, row: ClaimRow) -> str:
        """Estimated CPU cost of the runs of ``row`` not yet in the store."""
        from .cost import describe_cpu_cost

        specs = [spec for setting in row.settings for spec in ClaimRecorder(self, row).specs(setting)]
        missing = [spec for spec in dict.fromkeys(specs) if not self.store.has(spec)]
        return describe_cpu_cost(missing) if missing else "every run is in the store already"

    def recorder(self, row: ClaimRow) -> "ClaimRecorder":
        return ClaimRecorder(self, row)


def dataset_problem(dataset: str, data_root: str | None) -> str:
    """"" when ``dataset`` can be read under ``data_root``, else the reason (naming the layouts)."""
    from .config import DOMAIN_DATASETS
    from .data import roots

    if dataset in DOMAIN_DATASETS:
        from .data.bigearthnet.domain import data_problem

        return data_problem(dataset, data_root)
    try:
        if dataset == "cifar10":
            roots.resolve_cifar10_folder(data_root)
        else:
            roots.resolve_idx_folder(dataset, data_root)
    except FileNotFoundError as err:
        return " ".join(line.strip() for line in str(err).splitlines())
    return ""


class ClaimRecorder:
    """Handed to a claim test as the ``claim`` fixture."""

    def __init__(self, context: ClaimContext, row: ClaimRow):
        self.context = context
        self.row = row
        self.outcome: dict = {"settings": [], "checks": [], "extra": {}}

    def specs(self, setting: Setting) -> list[RunSpec]:
        from .experiment import resolve_engine

        if setting.spec.train.precision != "fp32":
            raise ValueError(f"{setting.label}: claims are checked in fp32, as the paper trains; "
                             f"got precision {setting.spec.train.precision!r}")
        engine = self.context.engine or AUTO_ENGINE
        return [resolve_engine(setting.spec.replace(seed=s, engine=engine), self.context.device) for s in self.context.seeds]

    def measure(self, setting: Setting) -> Measurement:
        """Train or read every seed of ``setting``; a smoke setting also gets its control."""
        from .experiment import run_experiments

        records = run_experiments(self.specs(setting), self.context.store, self.context.device, self.context.data_root)
        measurement = Measurement(setting, records)
        summary = measurement.summary(self.row.headline)
        if self.row.tier == "smoke":
            measurement.control = self.measure_control(setting)
            summary["control"] = measurement.control.summary()
        if not self.row.analogue:
            summary["versus_paper"] = versus_paper(summary["paper"], summary["measured"], len(records))
        self.outcome["settings"].append(summary)
        return measurement

    def measure_control(self, setting: Setting) -> Measurement:
        """The no-shift control of ``setting`` (Appendix B): both copies from one Θ0 on the same
        subset under the same SGD noise, which must give one model and a flat path."""
        from .experiment import run_experiments

        control = Setting(f"{setting.label} — control", control_spec(setting.spec))
        records = run_experiments(self.specs(control), self.context.store, self.context.device, self.context.data_root)
        return Measurement(control, records)

    def record_measured(self, measurement: Measurement, metric: str, mean: float, std: float) -> None:
        """Add a measured figure that is not a per-run metric (e.g. an ensemble's wrong agreement over
        seeds) to the setting's summary, beside the paper's number for ``metric``."""
        for summary in self.outcome["settings"]:
            if summary["label"] == measurement.setting.label:
                summary["measured"][metric] = [float(mean), float(std)]

    def check(self, description: str, passed: bool, detail: str) -> None:
        """Record one assertion of the claim and raise AssertionError when it fails."""
        self.outcome["checks"].append({"description": description, "passed": bool(passed), "detail": detail})
        assert passed, f"{description}: {detail}"

    def expect_row(self, measurements: list[Measurement]) -> None:
        """Every check the row carries, its premise first: the first setting's baseline verdict and
        bounds, then the trends (last setting against first), then the last setting's verdict."""
        first, last = measurements[0], measurements[-1]
        if self.row.baseline_verdict:
            self.expect_verdict(first, self.row.baseline_verdict)
        for bound in self.row.bounds:
            self.expect_bound(bound, first)
        for trend in self.row.trends:
            self.expect_trend(trend, first, last)
        if self.row.verdict:
            self.expect_verdict(last, self.row.verdict)

    def expect_verdict(self, measurement: Measurement, expected: str) -> None:
        """The paper's verdict: "stable" (Δ ≥ −5 pp) or "unstable". Full tier: on the mean over
        seeds, as the paper reports it. Smoke tier: on every seed."""
        deltas = measurement.values("delta")
        verdicts = ["stable" if is_stable(d, STABLE_THRESHOLD_PP) else "unstable" for d in deltas]
        if self.row.tier == "full":
            observed = "stable" if is_stable(float(deltas.mean()), STABLE_THRESHOLD_PP) else "unstable"
            passed = observed == expected
        else:
            observed = verdicts[0] if len(set(verdicts)) == 1 else "mixed"
            passed = all(v == expected for v in verdicts)
        self.outcome["extra"].setdefault("verdicts", {})[measurement.setting.label] = {"expected": expected, "observed": observed}
        self.check(f"{measurement.setting.label} is {expected}", passed,
                   f"observed {observed}; {measurement.describe('delta')}; {measurement.describe('barrier')}")
        if expected == "unstable" and measurement.control is not None:
            self.expect_flat_control(measurement)

    def expect_flat_control(self, measurement: Measurement) -> None:
        """Instability counts only where the control is flat: its copies end as one model, so any
        barrier of the shifted pair comes from the shift, not from the engine's arithmetic."""
        control = measurement.control
        barriers, deltas = control.values("barrier_frankle"), control.values("delta")
        passed = bool((barriers <= CONTROL_TOLERANCE).all() and (abs(deltas) <= CONTROL_TOLERANCE).all())
        self.check(f"{measurement.setting.label}: the no-shift control is flat on every seed", passed,
                   f"{control.describe('barrier_frankle')}; {control.describe('delta')}")

    def expect_trend(self, trend: Trend, first: Measurement, last: Measurement) -> None:
        """Record and assert one comparison of the row (see :class:`Trend`)."""
        self.check(trend.describe(first.setting.label, last.setting.label), trend.holds(first, last),
                   f"{first.describe(trend.metric)}; {last.describe(trend.metric)}")

    def expect_bound(self, bound: Bound, measurement: Measurement) -> None:
        """Record and assert one threshold of the row (see :class:`Bound`)."""
        self.check(bound.describe(), bound.holds(measurement), measurement.describe(bound.metric))

    def note(self, key: str, value) -> None:
        self.outcome["extra"][key] = value


def outcome_key(nodeid: str) -> str:
    """File-name-safe key of a claim test's outcome."""
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid.split("::", 1)[-1])[:80]
    return f"{readable}-{hashlib.sha256(nodeid.encode()).hexdigest()[:8]}"


def outcome_record(row: ClaimRow, report, outcome: dict, wall_seconds: float) -> dict:
    """What the report needs about one claim test."""
    if hasattr(report, "wasxfail"):
        status = "not reproduced" if report.skipped else "xpassed"
        reason = report.wasxfail
    elif report.skipped:
        status = "skipped"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
    elif report.failed:
        status = "failed"
        reason = str(report.longrepr.reprcrash.message) if hasattr(report.longrepr, "reprcrash") else str(report.longrepr)
    else:
        status, reason = "passed", ""
    return {
        "nodeid": report.nodeid,
        "claim": row.claim,
        "row": row.label,
        "test_id": row.id,
        "headline": list(row.headline),
        "title": row.title,
        "section": row.section,
        "tier": row.tier,
        "analogue": row.analogue,
        "kind": row.kind,
        "expectation": row.expectation,
        "status": status,
        "reason": reason,
        "wall_seconds": wall_seconds if math.isfinite(wall_seconds) else None,
        "recorded": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "settings": [],
        "checks": [],
        "extra": {},
        **outcome,
    }



def paper_spec(model: str, dataset: str, lr: float, batch_size: int, *, shift: str = "covariate",
               noise: str = "same", normalization: str = "centered", **eval_options) -> RunSpec:
    """A run of the paper's protocol; CIFAR-10 training uses random horizontal flips (Appendix C)."""
    return RunSpec(
        model=model,
        data=DataSpec(dataset=dataset, shift=shift, normalization=normalization, flip=dataset == "cifar10"),
        train=TrainSpec(lr=lr, batch_size=batch_size, noise=noise),
        eval=EvalSpec(**eval_options),
    )


def _paper_g(spec: RunSpec) -> float | None:
    if spec.data.dataset not in PAPER_SUBSET_SIZE:
        return None
    return paper_noise_scale(spec.data.dataset, spec.train.lr, spec.train.batch_size)


def paper_setting(label: str, spec: RunSpec, paper: dict | None = None) -> Setting:
    """A full-tier setting: the paper's own configuration, with the paper's barrier and Δ wherever
    Tables VI-VIII give them (``paper`` adds or overrides entries)."""
    return Setting(label or describe_spec(spec), spec, {**paper_numbers(spec), **(paper or {})}, paper_config="as in the paper",
                   paper_noise_scale=_paper_g(spec), paper_spec=spec)


def analogue_setting(label: str, spec: RunSpec, stands_for: RunSpec, paper: dict | None = None, note: str = "") -> Setting:
    """A setting that stands in for the paper's configuration ``stands_for`` (whose barrier and Δ it
    shows wherever Tables VI-VIII give them)."""
    config = ", ".join([stands_for.data.dataset, f"lr {format_lr(stands_for.train.lr)}", f"B={stands_for.train.batch_size}"]) + note
    return Setting(label or describe_spec(spec), spec, {**paper_numbers(stands_for), **(paper or {})}, paper_config=config,
                   paper_noise_scale=_paper_g(stands_for), paper_spec=stands_for)


def smoke_setting(label: str, spec: RunSpec, paper_config: tuple[str, float, int], paper: dict | None = None) -> Setting:
    """A smoke-tier analogue of the paper configuration ``(dataset, lr, batch size)`` (model, shift,
    noise and normalisation as in ``spec``)."""
    dataset, lr, batch_size = paper_config
    stands_for = spec.replace(**{"data.dataset": dataset, "data.flip": dataset == "cifar10",
                                 "train.lr": lr, "train.batch_size": batch_size})
    return analogue_setting(label, spec, stands_for, paper)
