"""``lmc-bench``: verify the paper's claims, list them, train one configuration, or rebuild the report.

    lmc-bench verify [--tier smoke|full] [--claim C4] [-k EXPR] [--device auto|cpu|cuda] [--gpu] [--data-root DIR] [-n N] ...
    lmc-bench list [--tier smoke|full] [--claim C4] [-k EXPR]
    lmc-bench run --model mlp_l1 [--dataset mnist_bundled] [--lr 1e-3] [--batch-size 32] [--seeds 1 20] ...
    lmc-bench run [--tier smoke|full] [-k EXPR] [-m MARKS] [--executor local|slurm] [--partition P] [--gpus-per-job N] ...
    lmc-bench report [--results-dir DIR] [--report-dir DIR]
    lmc-bench plan [--tier smoke|full] [-k EXPR] [-m MARKS] [--device cpu|cuda] [--json]
    lmc-bench data download --root DIR mnist cifar10 fashion_mnist
    lmc-bench data status [--root DIR]
    lmc-bench data pack-bigearthnet --root ROOT --out CACHE [--bands B02 B03 B04 B08 B11] [--workers N]

Every subcommand is one ``add_<name>_command`` function that declares its arguments and its
handler; :data:`COMMANDS` lists them. Arguments are checked before any work: a bad value ends with
one ``lmc-bench: error: ...`` line and exit status 2.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from . import __version__
from .config import AUTO_ENGINE, ENGINES, NOISES, NORMALIZATIONS, PAPER_SEEDS, PRECISIONS, SHIFTS, DataSpec, RunSpec, TrainSpec
from .devices import DEVICE_CHOICES
from .store import DEFAULT_RESULTS_DIR, ResultsStore, StoreError, folder_problem

FULL_TIER_DATASETS = ("mnist", "fashion_mnist", "cifar10", "bigearthnet")
"""Datasets the full-tier claims train on (each checked before a full-tier run)."""
USAGE_ERROR = 2


class UsageError(Exception):
    """A problem with what the user asked for; the message names it and the fix."""


class Parser(argparse.ArgumentParser):
    """argparse with the one-line error of every other lmc-bench error."""

    def error(self, message):
        self.exit(USAGE_ERROR, f"lmc-bench: error: {message} (see {self.prog} --help)\n")


def _results_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--results-dir", default=DEFAULT_RESULTS_DIR, help="results store (default: %(default)s)")


def _report_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--report-dir", default="reports", help="where the report is written (default: %(default)s)")


def _selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tier", choices=("smoke", "full"), default="smoke", help="default: %(default)s (CPU, bundled data)")
    parser.add_argument("--claim", action="append", default=[], metavar="ID",
                        help="only this claim's tests (C1 ... C9, C2b, B4; repeatable)")
    parser.add_argument("-k", dest="keyword", metavar="EXPR", default=None,
                        help="only claim tests whose id matches this pytest -k expression, e.g. 'C3 and resnet10'")


def selection_args(args, tier: str | None = None) -> list[str]:
    """pytest arguments selecting the claim tests ``args`` asks for (and only ``tier``'s, if given)."""
    if args.claim:
        from .claim_catalog import collect_claim_tests

        known = sorted({test.row.claim for test in collect_claim_tests()})
        unknown = [claim for claim in args.claim if claim not in known]
        if unknown:
            raise UsageError(f"no claim {', '.join(unknown)}; the claims are {', '.join(known)} (lmc-bench list shows their tests)")
    markers = ([f"({' or '.join(args.claim)})"] if args.claim else []) + ([tier] if tier else [])
    return (["-m", " and ".join(markers)] if markers else []) + (["-k", args.keyword] if args.keyword else [])


def add_verify_command(sub) -> None:
    verify = sub.add_parser("verify", help="run the claim tests and write the report")
    _selection(verify)
    verify.add_argument("--device", choices=DEVICE_CHOICES, default="auto",
                        help="where to train (default: %(default)s; without CUDA the full tier skips with estimated "
                             "costs unless --device cpu)")
    verify.add_argument("--gpu", action="store_true", help="pin each pytest-xdist worker to one GPU (full tier; smoke rows run either way)")
    verify.add_argument("--data-root", default=None,
                        help="folder with MNIST / FashionMNIST / CIFAR-10 / bigearthnet-cache (full tier)")
    verify.add_argument("--engine", choices=ENGINES, default=None, help="training engine (default: fast where its gates hold)")
    verify.add_argument("-n", "--workers", default=None, help="pytest-xdist workers (e.g. 4 or auto)")
    _results_dir(verify)
    _report_dir(verify)
    verify.set_defaults(handler=verify_claims)


def add_list_command(sub) -> None:
    listing = sub.add_parser("list", help="list the claim tests: tier, what each needs, whether its runs are stored")
    _selection(listing)
    listing.add_argument("--all-tiers", action="store_true", help="list both tiers")
    _results_dir(listing)
    listing.set_defaults(handler=list_claims)


def add_run_command(sub) -> None:
    from .data import DATASETS
    from .models import MODEL_NAMES

    from .executors import add_run_arguments

    run = sub.add_parser("run", help="train one configuration over seeds, or the runs the selected claims still need",
                         description="Train and measure one configuration over seeds (printed per seed; stored in the results "
                                     "store); without --model, the runs the selected claim tests still need.")
    run.add_argument("--model", default=None, choices=MODEL_NAMES, metavar="MODEL",
                     help=f"one of: {', '.join(MODEL_NAMES)}; without it, the claims' pending runs")
    run.add_argument("--dataset", default="mnist_bundled", choices=DATASETS, metavar="DATASET",
                     help=f"one of: {', '.join(DATASETS)} (default: %(default)s)")
    run.add_argument("--shift", choices=SHIFTS, default="covariate")
    run.add_argument("--imbalance-x", type=int, default=20, help="x of the x/(100-x) label-imbalance split")
    run.add_argument("--normalization", choices=NORMALIZATIONS, default="centered")
    run.add_argument("--bands", nargs=2, default=None, metavar=("BANDS_A", "BANDS_B"),
                     help="domain shift (BigEarthNet): band selections of subset 1 and 2, e.g. B02 B08 or B4B3B2 B11B8B2")
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
    run.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 (default: %(default)s = cuda when available)")
    run.add_argument("--data-root", default=None)
    _results_dir(run)
    add_run_arguments(run)
    run.set_defaults(handler=run_configuration)


def add_report_command(sub) -> None:
    report = sub.add_parser("report", help="rebuild the report from the results store, without training")
    _results_dir(report)
    _report_dir(report)
    report.set_defaults(handler=rebuild_report)


def add_plan_command(sub) -> None:
    from .plan import add_parser

    add_parser(sub)


def add_data_command(sub) -> None:
    from .data.commands import add_parser

    add_parser(sub)


COMMANDS = (add_verify_command, add_list_command, add_run_command, add_report_command, add_plan_command, add_data_command)
"""One function per subcommand; a new subcommand is one more ``add_<name>_command`` here."""


def make_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="lmc-bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"lmc-bench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def check_writable_folder(path: str | Path, what: str, option: str) -> None:
    """UsageError naming ``path`` and the fix unless files can be written into it (nothing is created)."""
    problem = folder_problem(Path(path))
    if problem:
        raise UsageError(f"{what} {path} {problem}; fix that or pass another folder with {option}")


def existing_store(path: str) -> ResultsStore:
    """The results store at ``path``, which must exist (reading never creates one)."""
    root = Path(path).expanduser()
    if not root.is_dir():
        state = "is a file, not a folder" if root.exists() else "does not exist"
        raise UsageError(f"results store {root} {state}; run lmc-bench verify (or lmc-bench run) first, or pass the "
                         f"store's folder with --results-dir")
    return ResultsStore(root)


def verify_claims(args) -> int:
    from .claim_catalog import CLAIMS_DIR, pytest_config_args
    from .claims import dataset_problem

    selection = selection_args(args)
    store = ResultsStore(args.results_dir)
    store.ensure_writable()
    check_writable_folder(args.report_dir, "report folder", "--report-dir")
    if not CLAIMS_DIR.is_dir():
        raise UsageError(f"claim tests not found at {CLAIMS_DIR}; install from a checkout with pip install -e .")
    if args.tier == "full":
        _warn_full_tier_gaps(args, dataset_problem)
    command = [sys.executable, "-m", "pytest", str(CLAIMS_DIR), "-q", "-r", "fEX", "-p", "no:cacheprovider", "-p", "no:benchmark",
               *pytest_config_args(), "--tier", args.tier, "--results-dir", args.results_dir,
               "--device", args.device, *selection]
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
    start = time.perf_counter()
    code = subprocess.call(command)
    if code == 5:
        raise UsageError("no claim test matches the selection" + (f" ({' '.join(selection)})" if selection else "")
                         + "; lmc-bench list shows the claims and their test ids")
    if code in (3, 4):
        print(f"lmc-bench: error: pytest stopped with exit status {code} (internal or usage error, above); no report written",
              file=sys.stderr)
        return code
    paths = _build_report(store, args.report_dir, f"Tier: {args.tier}; claim tests took {time.perf_counter() - start:.0f} s.")
    print(f"lmc-bench: report written to {paths['html']} (and {paths['md'].name}, {paths['json'].name})")
    return code


def _warn_full_tier_gaps(args, dataset_problem) -> None:
    import torch

    wants_cuda = args.device == "cuda" or (args.device == "auto" and args.gpu)
    if wants_cuda and not torch.cuda.is_available():
        print("lmc-bench: CUDA requested but torch sees no CUDA device: the full-tier claims are skipped "
              "(the smoke claims run on the CPU).", file=sys.stderr)
    elif args.device == "auto" and not torch.cuda.is_available():
        print("lmc-bench: --tier full without a CUDA device: the full-tier claims are skipped, each with its "
              "estimated CPU cost; pass --device cpu to train them on the CPU.", file=sys.stderr)
    for dataset in FULL_TIER_DATASETS:
        problem = dataset_problem(dataset, args.data_root)
        if problem:
            print(f"lmc-bench: claims on {dataset} are skipped: {problem}", file=sys.stderr)


def list_claims(args) -> int:
    from .claim_catalog import collect_claim_tests, describe_claim_tests

    tests = collect_claim_tests(selection_args(args, None if args.all_tiers else args.tier))
    if not tests:
        raise UsageError("no claim test matches the selection; run lmc-bench list --all-tiers to see them all")
    print(describe_claim_tests(tests, ResultsStore(args.results_dir)))
    return 0


def run_configuration(args) -> int:
    from .executors import materialise, run_claims, target_device
    from .experiment import resolve_device, resolve_engine, run_experiments
    from .models import model_info

    if args.model is None:
        return run_claims(args)
    model_info(args.model, args.dataset)
    if args.executor == "local":
        resolve_device(target_device(args))
    spec = RunSpec(
        model=args.model,
        data=DataSpec(dataset=args.dataset, shift=args.shift, imbalance_x=args.imbalance_x,
                      normalization=args.normalization, flip=args.flip, bands=tuple(args.bands or ())),
        train=TrainSpec(lr=args.lr, batch_size=args.batch_size, epochs=args.epochs, noise=args.noise,
                        precision=args.precision),
        engine=args.engine or AUTO_ENGINE,
    )
    specs = [resolve_engine(spec.replace(seed=s), target_device(args)) for s in args.seeds]
    store = ResultsStore(args.results_dir)
    if args.executor != "local":
        if materialise(specs, args, target_device(args)):
            return 1
        return print_runs([store.load(spec) for spec in specs])
    device = resolve_device(target_device(args))
    if args.precision == "bf16" and device.type == "cpu":
        print("lmc-bench: note: bf16 autocast on a CPU is usually slower than fp32 (it pays on GPUs with "
              "bfloat16 tensor cores); see benchmarks/RESULTS.md.", file=sys.stderr)
    return print_runs(run_experiments(specs, store, device, args.data_root))


def print_runs(records: list[dict]) -> int:
    """One line per seed: both barriers (Section IV-A and Eq. 1), Δ, λ*, angle and g."""
    print(f"{'seed':>6} {'barrier':>8} {'frankle':>8} {'Δ (pp)':>8} {'λ*':>5} {'angle':>6} {'g':>7}")
    for r in records:
        m = r["metrics"]
        if r.get("diverged"):
            d = r["divergence"]
            print(f"{r['spec']['seed']:>6} diverged: copy {d['copy']}, epoch {d['epoch']}, training loss {d['train_loss']:.3g}")
            continue
        print(f"{r['spec']['seed']:>6} {m['barrier']:>8.3f} {m['barrier_frankle']:>8.3f} {m['delta']:>8.2f} "
              f"{m['lambda_star']:>5.1f} {m['angle']:>6.1f} {m['noise_scale']:>7.3g}")
    return 0


def rebuild_report(args) -> int:
    store = existing_store(args.results_dir)
    check_writable_folder(args.report_dir, "report folder", "--report-dir")
    paths = _build_report(store, args.report_dir)
    print(f"lmc-bench: report written to {paths['html']}")
    return 0


def _build_report(store: ResultsStore, report_dir: str, note: str = "") -> dict:
    from .report import build_report

    return build_report(store, report_dir, note)


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (UsageError, StoreError, ValueError, FileNotFoundError) as err:
        print(f"lmc-bench: error: {' '.join(str(err).split())}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print("lmc-bench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
