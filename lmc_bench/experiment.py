"""One experiment of the protocol (docs/protocol.md): train a pair, interpolate, measure, store.

``run_experiments`` is the single entry the CLI, the claim tests and the report use: it returns
each spec's record from the store, training only what is missing (once across processes).
"""

from __future__ import annotations

import math
import platform
import time
from contextlib import ExitStack
from typing import Sequence

import numpy as np
import torch

from . import metrics
from .config import AUTO_ENGINE, RunSpec, spec_hash
from .data.prepare import PreparedData, prepare_data
from .devices import cuda_numerics, device_type, resolve_device
from .engine import evaluate_path_fast, train_pairs_fast
from .naming import describe_spec
from .progress import announce, progress_bar
from .store import ResultsStore
from .train import evaluate_path, train_pair_naive


def trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Trainable parameters only (Appendix D: weights and biases, no BatchNorm statistics)."""
    return {name: p.detach().cpu() for name, p in model.named_parameters()}


DIVERGED_TRAIN_LOSS = 1e3
"""A copy has diverged when an epoch's mean training NLL is not finite or exceeds 1,000 nats (the
true class at probability below e^-1000; chance level on ten classes is ln 10 ≈ 2.3)."""

PATH_METRICS = ("barrier", "lambda_star", "delta", "barrier_frankle", "barrier_linear", "barrier_normalized", "delta_midpoint")
SIMILARITY_METRICS = ("cosine", "angle", "manhattan", "squared_euclidean", "norm_a", "norm_b")


def divergence(histories) -> dict | None:
    """The first epoch (1-based) at which a copy's training diverged, as ``{"copy", "epoch",
    "train_loss"}``; None when both trained normally."""
    for epoch, losses in enumerate(zip(histories[0].train_loss, histories[1].train_loss), start=1):
        for copy, loss in zip("AB", losses):
            if not math.isfinite(loss) or loss > DIVERGED_TRAIN_LOSS:
                return {"copy": copy, "epoch": epoch, "train_loss": loss}
    return None


def _all_finite(values) -> bool:
    return bool(np.isfinite(np.asarray(values, dtype=float)).all())


def path_metrics(path: dict, prefix: str = "test") -> dict:
    """Barrier variants and Δ (percentage points) of one evaluated path (Eq. 1, Eq. 2, Section IV-A);
    NaN where the path holds non-finite losses (a diverged run)."""
    losses, accs, lambdas = path[f"{prefix}_loss"], path[f"{prefix}_acc"], path["lambdas"]
    if not (_all_finite(losses) and _all_finite(accs)):
        return dict.fromkeys(PATH_METRICS, math.nan)
    barrier, index = metrics.barrier_local_minima(losses, lambdas)
    return {
        "barrier": barrier,
        "lambda_star": lambdas[index],
        "delta": metrics.accuracy_difference(accs, index),
        "barrier_frankle": metrics.barrier_frankle(losses),
        "barrier_linear": metrics.barrier_linear(losses, lambdas),
        "barrier_normalized": metrics.barrier_normalized(losses, [a / 100 for a in accs]),
        "delta_midpoint": metrics.accuracy_difference(accs, lambdas.index(0.5)),
    }


def similarity_metrics(initial, params_a, params_b, shared_init: bool) -> dict:
    """Appendix D similarities of the trained copies, and of their displacements from Θ0; NaN where
    the weights are not finite (a diverged run)."""
    if not all(bool(torch.isfinite(v).all()) for params in (params_a, params_b) for v in params.values()):
        return dict.fromkeys(SIMILARITY_METRICS + (("angle_displacement",) if shared_init else ()), math.nan)
    out = {
        "cosine": metrics.cosine_similarity(params_a, params_b),
        "angle": metrics.angle_degrees(params_a, params_b),
        "manhattan": metrics.manhattan_distance(params_a, params_b),
        "squared_euclidean": metrics.squared_euclidean_distance(params_a, params_b),
        "norm_a": float(np.linalg.norm(metrics.flatten_parameters(params_a))),
        "norm_b": float(np.linalg.norm(metrics.flatten_parameters(params_b))),
    }
    if shared_init:
        origin = {k: initial[k] for k in params_a}
        out["angle_displacement"] = metrics.angle_degrees(params_a, params_b, origin=origin)
    return out


def measure_pair(spec, data, device, trained, evaluate, train_seconds: float) -> tuple[dict, dict]:
    """Record and tensors of a trained pair ``(Θ0, model A, model B, histories)``; ``evaluate`` is
    the engine's path evaluation."""
    start = time.perf_counter()
    initial, model_a, model_b, histories = trained
    state_a = {k: v.detach().cpu() for k, v in model_a.state_dict().items()}
    state_b = {k: v.detach().cpu() for k, v in model_b.state_dict().items()}
    record = finish_record(spec, data, initial, trainable_state(model_a), trainable_state(model_b), histories, device)
    tensors = {**{f"a.{k}": v for k, v in state_a.items()}, **{f"b.{k}": v for k, v in state_b.items()}}
    path, log_probs = evaluate(spec, state_a, state_b, data, device)
    record["path"] = path
    record["metrics"].update(path_metrics(path))
    if spec.eval.on_train:
        for name in ("train_a", "train_b"):
            record["metrics"].update({f"{name}_{k}": v for k, v in path_metrics(path, name).items()})
    tensors["path_log_probs"] = log_probs.half() if log_probs.numel() > 5_000_000 else log_probs
    record["train_seconds"] = train_seconds
    record["wall_seconds"] = train_seconds + time.perf_counter() - start
    return record, tensors


def finish_record(spec, data, initial, params_a, params_b, histories, device) -> dict:
    """Everything about the trained pair except the path (shared by both engines)."""
    n_a, n_b = len(data.subset_a), len(data.subset_b)
    history_a, history_b = histories
    diverged = divergence(histories)
    record = {
        "diverged": diverged is not None,
        "divergence": diverged,
        "engine": spec.engine,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if torch.device(device).type == "cuda" else platform.processor() or "cpu",
        **({"cuda_numerics": cuda_numerics()} if torch.device(device).type == "cuda" else {}),
        "torch_version": torch.__version__,
        "subset_sizes": [n_a, n_b],
        "test_size": len(data.test_y),
        "history": {"a": vars(history_a), "b": vars(history_b)},
        "metrics": {
            "noise_scale": metrics.noise_scale(spec.train.lr, n_a, spec.train.batch_size),
            "final_train_loss": 0.5 * (history_a.train_loss[-1] + history_b.train_loss[-1]),
            **similarity_metrics(initial, params_a, params_b, spec.train.init == "shared"),
        },
    }
    return record


def check_batch_size(spec: RunSpec, data: PreparedData) -> None:
    """A batch may not be larger than a training subset (the noise scale g = ε(N/B − 1) would be negative)."""
    n = min(len(data.subset_a), len(data.subset_b))
    if spec.train.batch_size > n:
        raise ValueError(f"batch size {spec.train.batch_size} exceeds the {n:,} images of a training subset of "
                         f"{spec.data.dataset}; choose a batch size of at most {n:,}")


def default_engine(model: str, device: str | torch.device | None) -> str:
    """The fast engine where it is faster (benchmarks/RESULTS.md): MLPs anywhere, conv nets on CUDA.
    The one place that chooses an engine for a spec that names none ("auto")."""
    on_cuda = device_type(device) == "cuda"
    return "fast" if (on_cuda or model.startswith("mlp")) else "naive"


def resolve_engine(spec: RunSpec, device: str | torch.device | None) -> RunSpec:
    """``spec`` with an "auto" engine replaced by :func:`default_engine` on ``device``."""
    return spec.replace(engine=default_engine(spec.model, device)) if spec.engine == AUTO_ENGINE else spec


def stack_groups(specs: Sequence[RunSpec]) -> list[list[RunSpec]]:
    """Runs trained together: under the fast engine all seeds of one configuration, else one by one."""
    groups: dict[RunSpec, list[RunSpec]] = {}
    for spec in dict.fromkeys(specs):
        key = spec.replace(seed=0) if spec.engine == "fast" else spec
        groups.setdefault(key, []).append(spec)
    return list(groups.values())


def train_pairs(specs: list[RunSpec], data: PreparedData, device, progress=None):
    """Trained pairs of ``specs`` (which differ only in seed) by their engine, and that engine's
    path evaluation."""
    if specs[0].engine == "fast":
        return train_pairs_fast(specs, data, device, progress), evaluate_path_fast
    return [train_pair_naive(spec, data, device, progress) for spec in specs], evaluate_path


def run_summary(spec: RunSpec, record: dict) -> str:
    """One line about a stored run: its configuration, seed, time and result (or its divergence)."""
    head = f"stored {describe_spec(spec)}, seed {spec.seed} ({spec.engine} engine, {record['wall_seconds']:.1f} s): "
    if record["diverged"]:
        d = record["divergence"]
        return head + f"DIVERGED (copy {d['copy']}, epoch {d['epoch']}, training loss {d['train_loss']:.3g})"
    m = record["metrics"]
    return head + f"barrier {m['barrier']:.3f}, Δ {m['delta']:.2f} pp"


def train_group(group: list[RunSpec], store: ResultsStore, device, data_root, show_progress: bool) -> None:
    """Train the runs of ``group`` not yet intact in the store, holding every run's lock (in hash
    order, so concurrent workers cannot deadlock) until all are saved."""
    with ExitStack() as locks:
        for spec in sorted(group, key=spec_hash):
            locks.enter_context(store.lock(spec))
        todo = [spec for spec in group if not store.usable(spec, announce)]
        if not todo:
            return
        data = prepare_data(todo[0].data, data_root)
        seeds = ", ".join(str(s.seed) for s in todo)
        with progress_bar(total=2 * todo[0].train.epochs * len(todo), desc=f"{todo[0].model} seeds {seeds}", enabled=show_progress) as bar:
            start = time.perf_counter()
            trained, evaluate = train_pairs(todo, data, device, bar)
            seconds_each = (time.perf_counter() - start) / len(todo)
            for spec, pair in zip(todo, trained):
                record, tensors = measure_pair(spec, data, device, pair, evaluate, seconds_each)
                store.save(spec, record, tensors)
                announce(run_summary(spec, record))


def run_experiments(
    specs: Sequence[RunSpec],
    store: ResultsStore,
    device: str | torch.device | None = None,
    data_root: str | None = None,
    show_progress: bool = True,
) -> list[dict]:
    """Records of ``specs`` in order; missing runs are trained (each once across processes, under
    its lock), the seeds of one configuration together when the engine is "fast". An "auto"
    engine is resolved first (:func:`resolve_engine`), so the records name the engine that ran.

    A damaged stored run is set aside (``quarantine/``) and trained again. Before anything is
    trained, the data of every missing run is loaded and the store checked for writing, so a
    missing data set or a read-only store fails before any work and without writing anything.
    """
    device = resolve_device(device)
    specs = [resolve_engine(spec, device) for spec in specs]
    groups = stack_groups([spec for spec in dict.fromkeys(specs) if not store.usable(spec, announce)])
    for group in groups:
        check_batch_size(group[0], prepare_data(group[0].data, data_root))  # also raises for missing or corrupt data
    if groups:
        store.ensure_writable()
    for group in groups:
        train_group(group, store, device, data_root, show_progress)
    return [store.load(spec) for spec in specs]
