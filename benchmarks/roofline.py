"""Roofline of the training runs in a results store, on this machine.

Measures the device's fp32 matmul rate and its memory bandwidth (STREAM triad, arrays far beyond
the last-level cache), then for every configuration of the store (all seeds of one spec):

- compute time = FLOPs of its runs (:func:`lmc_bench.cost.estimate_training_flops`: training,
  per-epoch evaluation, path) ÷ matmul rate;
- memory time = Adam's traffic per model-step × model-steps ÷ bandwidth, where the fused Adam
  kernel reads parameter, gradient and both moments and writes parameter and both moments:
  :data:`ADAM_BYTES_PER_PARAMETER` = 7 x 4 bytes per parameter;
- roofline = compute + memory (the matmuls and the optimizer step run one after the other);
- measured = the sum of the runs' ``wall_seconds`` (training, shared equally by the seeds trained
  together, plus each run's path evaluation), and its ratio to the roofline.

``--breakdown`` also times the phases of a few training steps of each configuration (batch
loading, forward + backward, Adam) and one test evaluation, with the fast engine's stack of all
seeds, and extrapolates them to the whole run: where the time goes.

    python benchmarks/roofline.py --results-dir .lmc-results-b4 --dataset fashion_mnist [--breakdown] [--append benchmarks/RESULTS.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import math
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lmc_bench.config import RunSpec  # noqa: E402
from lmc_bench.cost import estimate_training_flops, matmul_rate, synchronize  # noqa: E402
from lmc_bench.models import build_model, count_parameters  # noqa: E402
from lmc_bench.store import ResultsStore  # noqa: E402

ADAM_BYTES_PER_PARAMETER = 7 * 4
MATMUL_SIZE = 2048
MATMUL_REPEATS = 10
BANDWIDTH_MEGABYTES = 256
BANDWIDTH_REPEATS = 5
BREAKDOWN_STEPS = 30


def measure_bandwidth(device: torch.device, megabytes: int = BANDWIDTH_MEGABYTES, repeats: int = BANDWIDTH_REPEATS) -> float:
    """Best bytes/s of the STREAM triad a = b + s·c on fp32 arrays of ``megabytes`` each
    (two arrays read, one written)."""
    n = megabytes * 2**20 // 4
    a, b, c = (torch.rand(n, device=device) for _ in range(3))
    torch.add(b, c, alpha=0.5, out=a)
    best = float("inf")
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        torch.add(b, c, alpha=0.5, out=a)
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return 3 * n * 4 / best


def configuration_key(record: dict) -> RunSpec:
    return RunSpec.from_dict(record["spec"]).replace(seed=0)


def configuration_label(spec: RunSpec) -> str:
    extras = [f"{spec.train.noise} noise"] if spec.train.noise != "same" else []
    extras += [spec.data.shift] if spec.data.shift != "covariate" else []
    return ", ".join([spec.model, spec.data.dataset, f"lr {spec.train.lr:g}", f"B={spec.train.batch_size}", *extras])


def model_steps(spec: RunSpec, subset_sizes) -> int:
    """Optimizer steps of both copies of one run (the last partial batch kept)."""
    return sum(spec.train.epochs * math.ceil(n / spec.train.batch_size) for n in subset_sizes)


def roofline_rows(records: list[dict], matmul_flops_per_s: float, bytes_per_s: float, dataset: str | None = None) -> list[dict]:
    """One row per configuration (in the store's order) with its roofline and measured time."""
    groups: dict[RunSpec, list[dict]] = defaultdict(list)
    for record in records:
        if dataset is None or record["spec"]["data"]["dataset"] == dataset:
            groups[configuration_key(record)].append(record)
    rows = []
    for spec, runs in groups.items():
        flops = sum(estimate_training_flops(spec, tuple(r["subset_sizes"]), r["test_size"]) for r in runs)
        steps = sum(model_steps(spec, r["subset_sizes"]) for r in runs)
        parameters = count_parameters(build_model(spec.model, spec.data.dataset))
        compute = flops / matmul_flops_per_s
        memory = ADAM_BYTES_PER_PARAMETER * parameters * steps / bytes_per_s
        measured = sum(r["wall_seconds"] for r in runs)
        rows.append({"configuration": configuration_label(spec), "spec": spec, "seeds": len(runs), "flops": flops,
                     "model_steps": steps, "parameters": parameters, "compute_s": compute, "memory_s": memory,
                     "roofline_s": compute + memory, "measured_s": measured, "ratio": measured / (compute + memory),
                     "engine": runs[0]["spec"]["engine"], "device": runs[0]["device"]})
    return rows


def markdown_table(rows: list[dict]) -> str:
    header = ["configuration", "seeds", "engine", "FLOPs", "model-steps", "compute (s)", "Adam memory (s)",
              "roofline (s)", "measured (s)", "measured / roofline"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        lines.append(f"| {r['configuration']} | {r['seeds']} | {r['engine']} | {r['flops']:.3g} | {r['model_steps']} | "
                     f"{r['compute_s']:.1f} | {r['memory_s']:.1f} | {r['roofline_s']:.1f} | {r['measured_s']:.1f} | "
                     f"{r['ratio']:.2f} |")
    if len(rows) > 1:
        roofline, measured = sum(r["roofline_s"] for r in rows), sum(r["measured_s"] for r in rows)
        lines.append(f"| **all** | {sum(r['seeds'] for r in rows)} | | {sum(r['flops'] for r in rows):.3g} | "
                     f"{sum(r['model_steps'] for r in rows)} | {sum(r['compute_s'] for r in rows):.1f} | "
                     f"{sum(r['memory_s'] for r in rows):.1f} | {roofline:.1f} | {measured:.1f} | {measured / roofline:.2f} |")
    return "\n".join(lines)


def phase_breakdown(spec: RunSpec, seeds: int, device: torch.device, data_root: str | None, steps: int = BREAKDOWN_STEPS) -> dict:
    """Seconds of the whole run of ``seeds`` seeds of ``spec`` (fast engine, one stack), per
    phase, extrapolated from ``steps`` timed training steps and one timed test evaluation."""
    import torch.nn.functional as F

    from lmc_bench.data.order import epoch_draws
    from lmc_bench.data.prepare import prepare_data
    from lmc_bench.engine.evaluation import evaluate_stack
    from lmc_bench.engine.fast import make_optimizer
    from lmc_bench.engine.feed import epoch_feed, load_batch
    from lmc_bench.engine.stacked import stack_models
    from lmc_bench.train import build_initial_pair

    data = prepare_data(spec.data, data_root)
    specs = [spec.replace(seed=seed) for seed in range(1, seeds + 1)]
    pairs = [build_initial_pair(s) for s in specs]
    members = [(s, c, pair[c]) for c in (0, 1) for s, pair in zip(specs, pairs)]
    subsets = [data.subset_a if c == 0 else data.subset_b for _, c, _ in members]
    network = stack_models([m for _, _, m in members]).to(device)
    optimizer = make_optimizer(network, spec.train.lr)
    draws = [next(epoch_draws(len(subset), 1, spec.train.noise, s.seed, c, spec.data.flip)) for (s, c, _), subset in zip(members, subsets)]
    feed = epoch_feed(draws, subsets, device)
    train_x, train_y = data.train_x.to(device), data.train_y.to(device)
    times = defaultdict(float)
    batches = itertools.cycle(list(feed.batches(spec.train.batch_size)))
    network.train()
    for step in range(steps + 1):
        index, flips = next(batches)
        marks = [time.perf_counter()]
        images, labels = load_batch(train_x, train_y, index, flips, network.m)
        synchronize(device)
        marks.append(time.perf_counter())
        log_probs = network(images)
        losses = F.nll_loss(log_probs.flatten(0, 1), labels.flatten(), reduction="none").view(network.m, -1).mean(1)
        optimizer.zero_grad()
        losses.sum().backward()
        synchronize(device)
        marks.append(time.perf_counter())
        optimizer.step()
        synchronize(device)
        marks.append(time.perf_counter())
        if step:  # the first step warms up
            for phase, start, stop in zip(("batch", "forward + backward", "Adam"), marks, marks[1:]):
                times[phase] += stop - start
    start = time.perf_counter()
    evaluate_stack(network, data.test_x, data.test_y, device)
    evaluation = time.perf_counter() - start
    stack_steps = spec.train.epochs * math.ceil(len(data.subset_a) / spec.train.batch_size)
    out = {phase: seconds / steps * stack_steps for phase, seconds in times.items()}
    out["evaluation"] = evaluation * spec.train.epochs + evaluation / network.m * len(spec.eval.lambdas) * seeds
    return out


def breakdown_table(rows: list[dict], device: torch.device, data_root: str | None) -> str:
    header = ["configuration", "batch (s)", "forward + backward (s)", "Adam (s)", "evaluation (s)", "sum (s)", "measured (s)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        if r["spec"].data.shift == "label_imbalance":
            lines.append(f"| {r['configuration']} | not timed: subsets of two lengths train as two stacks | | | | | |")
            continue
        phases = phase_breakdown(r["spec"], r["seeds"], device, data_root)
        lines.append(f"| {r['configuration']} | {phases['batch']:.1f} | {phases['forward + backward']:.1f} | {phases['Adam']:.1f} | "
                     f"{phases['evaluation']:.1f} | {sum(phases.values()):.1f} | {r['measured_s']:.1f} |")
    return "\n".join(lines)


def machine_line(device: torch.device, flops_per_s: float, bytes_per_s: float, matmul_size: int, megabytes: int) -> str:
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        name = f"CPU ({os.cpu_count()} cores, {torch.get_num_threads()} torch threads)"
    return (f"{dt.date.today().isoformat()}, {name}, torch {torch.__version__}: fp32 matmul {flops_per_s / 1e9:.1f} GFLOP/s "
            f"({matmul_size}^3, best of {MATMUL_REPEATS}), triad bandwidth {bytes_per_s / 1e9:.1f} GB/s ({megabytes} MB "
            f"arrays, best of {BANDWIDTH_REPEATS}); load average "
            f"{os.getloadavg()[0]:.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results-dir", required=True)
    parser.add_argument("--dataset", default=None, help="only configurations on this dataset")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--data-root", default=None, help="for --breakdown")
    parser.add_argument("--breakdown", action="store_true", help="also time the phases of each configuration")
    parser.add_argument("--matmul-size", type=int, default=MATMUL_SIZE)
    parser.add_argument("--bandwidth-megabytes", type=int, default=BANDWIDTH_MEGABYTES)
    parser.add_argument("--append", default=None, help="append the tables to this Markdown file")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    records = list(ResultsStore(args.results_dir).records())
    if not records:
        print(f"roofline: no runs in {args.results_dir}", file=sys.stderr)
        return 2
    flops_per_s = matmul_rate(str(device), args.matmul_size, MATMUL_REPEATS)
    bytes_per_s = measure_bandwidth(device, args.bandwidth_megabytes)
    rows = roofline_rows(records, flops_per_s, bytes_per_s, args.dataset)
    text = [f"Roofline ({machine_line(device, flops_per_s, bytes_per_s, args.matmul_size, args.bandwidth_megabytes)}); runs from `{args.results_dir}`:", markdown_table(rows)]
    if args.breakdown:
        text += ["Where the time goes (fast engine, all seeds in one stack; phases timed over "
                 f"{BREAKDOWN_STEPS} steps and one test evaluation, extrapolated to the run):",
                 breakdown_table(rows, device, args.data_root)]
    output = "\n\n".join(text)
    print(output)
    if args.append:
        with open(args.append, "a") as f:
            f.write("\n" + output + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
