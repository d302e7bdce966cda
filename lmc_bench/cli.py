"""``lmc-bench``: verify the paper's claims, train one configuration, or rebuild the report.

    lmc-bench verify [--tier smoke|full] [--gpu] [--data-root DIR] [--results-dir DIR] [--report-dir DIR] [-n N]
    lmc-bench run --model mlp_l1 [--dataset mnist_bundled] [--lr 1e-3] [--batch-size 32] [--seeds 1 20] [--precision bf16] ...
    lmc-bench report [--results-dir DIR] [--report-dir DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from .config import AUTO_ENGINE, ENGINES, NOISES, NORMALIZATIONS, PAPER_SEEDS, PRECISIONS, SHIFTS, DataSpec, RunSpec, TrainSpec
from .store import DEFAULT_RESULTS_DIR, ResultsStore

CLAIMS_DIR = Path(__file__).resolve().parent.parent / "claims"
FULL_TIER_DATASETS = ("mnist", "fashion_mnist", "cifar10")
"""Datasets the full-tier claims train on (each checked before a full-tier run)."""


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--results-dir", default=DEFAULT_RESULTS_DIR, help="results store (default: %(default)s)")
    parser.add_argument("--report-dir", default="reports", help="where the report is written (default: %(default)s)")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lmc-bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    verify = sub.add_parser("verify", help="run the claim tests and write the report")
    verify.add_argument("--tier", choices=("smoke", "full"), default="smoke", help="default: %(default)s (CPU, bundled data)")
    verify.add_argument("--gpu", action="store_true", help="train on CUDA (full tier)")
    verify.add_argument("--data-root", default=None, help="folder with MNIST / FashionMNIST / CIFAR-10 (full tier)")
    verify.add_argument("--engine", choices=ENGINES, default=None, help="training engine (default: fast where its gates hold)")
    verify.add_argument("-n", "--workers", default=None, help="pytest-xdist workers (e.g. 4 or auto)")
    _common(verify)

    run = sub.add_parser("run", help="train and measure one configuration over seeds")
    run.add_argument("--model", required=True)
    run.add_argument("--dataset", default="mnist_bundled")
    run.add_argument("--shift", choices=SHIFTS, default="covariate")
    run.add_argument("--imbalance-x", type=int, default=20)
    run.add_argument("--normalization", choices=NORMALIZATIONS, default="centered")
    run.add_argument("--flip", action="store_true", help="random horizontal flip (CIFAR-10)")
    run.add_argument("--lr", type=float, default=1e-3)
    run.add_argument("--batch-size", type=int, default=32)
    run.add_argument("--epochs", type=int, default=20)
    run.add_argument("--noise", choices=NOISES, default="same")
    run.add_argument("--seeds", type=int, nargs="+", default=list(PAPER_SEEDS))
    run.add_argument("--engine", choices=ENGINES, default=None, help="default: fast for MLPs, and for every model on CUDA")
    run.add_argument("--precision", choices=PRECISIONS, default="fp32",
                     help="training numerics (default: %(default)s, as the paper; bf16: autocast in training steps "
                          "only, for GPUs with bfloat16 tensor cores)")
    run.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda when available)")
    run.add_argument("--data-root", default=None)
    _common(run)

    report = sub.add_parser("report", help="rebuild the report from the results store, without training")
    _common(report)
    return parser


def verify(args) -> int:
    import torch

    from .claims import dataset_problem

    if args.tier == "full":
        if not args.gpu:
            print("lmc-bench: --tier full without --gpu: the full-tier claims are skipped (they need a CUDA GPU).", file=sys.stderr)
        elif not torch.cuda.is_available():
            print("lmc-bench: --gpu given but torch sees no CUDA device: the full-tier claims are skipped.", file=sys.stderr)
        for dataset in FULL_TIER_DATASETS:
            problem = dataset_problem(dataset, args.data_root)
            if problem:
                print(f"lmc-bench: claims on {dataset} are skipped: {problem}", file=sys.stderr)
    command = [sys.executable, "-m", "pytest", str(CLAIMS_DIR), "-v", "-p", "no:cacheprovider",
               "--rootdir", str(CLAIMS_DIR.parent), "--tier", args.tier, "--results-dir", args.results_dir]
    if args.gpu:
        command.append("--gpu")
    if args.data_root:
        command += ["--data-root", args.data_root]
    if args.engine:
        command += ["--engine", args.engine]
    if args.workers:
        command += ["-n", str(args.workers)]
    if sys.stdout.isatty() and not args.workers:
        command.append("--capture=no")
    if not CLAIMS_DIR.is_dir():
        raise FileNotFoundError(f"claim tests not found at {CLAIMS_DIR}; install from a checkout with pip install -e .")
    ResultsStore(args.results_dir).clear_claims()
    start = time.perf_counter()
    code = subprocess.call(command)
    if code == 5:
        print("lmc-bench: pytest collected no claim tests; is the claims/ folder present?", file=sys.stderr)
    paths = _report(args, f"Tier: {args.tier}; claim tests took {time.perf_counter() - start:.0f} s.")
    print(f"lmc-bench: report written to {paths['html']} (and {paths['md'].name}, {paths['json'].name})")
    return code


def _report(args, note: str = "") -> dict:
    from .report import build_report

    return build_report(ResultsStore(args.results_dir), args.report_dir, note)


def run(args) -> int:
    from .experiment import resolve_device, run_experiments

    if args.precision == "bf16" and resolve_device(args.device).type == "cpu":
        print("lmc-bench: note: bf16 autocast on a CPU is usually slower than fp32 (it pays on GPUs with "
              "bfloat16 tensor cores); see benchmarks/RESULTS.md.", file=sys.stderr)

    spec = RunSpec(
        model=args.model,
        data=DataSpec(dataset=args.dataset, shift=args.shift, imbalance_x=args.imbalance_x,
                      normalization=args.normalization, flip=args.flip),
        train=TrainSpec(lr=args.lr, batch_size=args.batch_size, epochs=args.epochs, noise=args.noise,
                        precision=args.precision),
        engine=args.engine or AUTO_ENGINE,
    )
    specs = [spec.replace(seed=s) for s in args.seeds]
    records = run_experiments(specs, ResultsStore(args.results_dir), args.device, args.data_root)
    print(f"{'seed':>6} {'barrier':>8} {'Δ (pp)':>8} {'λ*':>5} {'angle':>6} {'g':>7}")
    for r in records:
        m = r["metrics"]
        print(f"{r['spec']['seed']:>6} {m['barrier']:>8.3f} {m['delta']:>8.2f} {m['lambda_star']:>5.1f} {m['angle']:>6.1f} {m['noise_scale']:>7.3g}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        if args.command == "verify":
            return verify(args)
        if args.command == "run":
            return run(args)
        paths = _report(args)
        print(f"lmc-bench: report written to {paths['html']}")
        return 0
    except (ValueError, FileNotFoundError) as err:
        print(f"lmc-bench: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
