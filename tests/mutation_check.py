"""Mutation check: each plausible slip in a definition the claims rest on is caught by a fast test.

Every mutation below is one textual edit of the package (file, exact old text, new text) that
breaks a definition of the paper while leaving the code runnable:

- the barrier and Δ baselines of Eq. (1), Eq. (2) and Section IV-A taken as the larger endpoint
  instead of the mean of both;
- wrong agreement and wrong disagreement (Appendix E) swapped, in the metric or where the
  ensembles read it;
- "different" SGD noise (Appendix B, Algorithm 1) drawing both copies from one stream, in the
  draws themselves or where either engine asks for them;
- BatchNorm running statistics of Θ(λ) taken from copy A at interior λ instead of interpolated.

For each mutation the script copies the repository's ``lmc_bench/``, ``tests/``, ``fixtures/``,
``conftest.py`` and ``pyproject.toml`` into a temporary directory, applies the edit there (the
working tree is never touched), runs the mutation's tests with ``PYTHONPATH`` pointing at the copy
and records which tests fail. First the same tests run on an unmutated copy, which must pass.
A mutation whose old text is no longer found stops the script (update the mutation together with
the code it mutates); ``tests/test_mutation_check.py`` checks this on every test run.

Usage: ``python tests/mutation_check.py [NAME ...]`` (all mutations without names; ``--list``
prints them). Exits 1 if any mutation survives or the unmutated tests fail.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
COPIED_DIRS = ("lmc_bench", "tests", "fixtures")
COPIED_FILES = ("conftest.py", "pyproject.toml")

METRICS_TESTS = ("tests/test_metrics.py",)
ENSEMBLE_TESTS = ("tests/test_ensemble_summary.py",)
DRAW_TESTS = ("tests/test_data_order.py",)
FAST_NOISE_TESTS = ("tests/test_fast_engine.py::test_same_noise_shares_dropout_masks",)
INTERPOLATION_TESTS = ("tests/test_interpolate.py",)


@dataclass(frozen=True)
class Mutation:
    """Replace the one occurrence of ``old`` in ``lmc_bench/<file>`` by ``new``; ``tests`` are the
    pytest targets (paths relative to the repository root) expected to catch it."""

    name: str
    breaks: str
    file: str
    old: str
    new: str
    tests: tuple[str, ...]


MUTATIONS = (
    Mutation(
        "frankle-baseline-max",
        "Eq. (1) barrier measured from the larger endpoint loss",
        "metrics.py",
        "return float(path.max() - 0.5 * (path[0] + path[-1]))",
        "return float(path.max() - max(path[0], path[-1]))",
        METRICS_TESTS,
    ),
    Mutation(
        "local-minima-baseline-max",
        "Section IV-A barrier measured from the larger of the two minima",
        "metrics.py",
        "heights = path[peaks] - 0.5 * (prefix_min[peaks] + suffix_min[peaks])",
        "heights = path[peaks] - np.maximum(prefix_min[peaks], suffix_min[peaks])",
        METRICS_TESTS,
    ),
    Mutation(
        "delta-baseline-max",
        "Eq. (2) Δ measured from the larger endpoint accuracy",
        "metrics.py",
        "return float(path[index] - 0.5 * (path[0] + path[-1]))",
        "return float(path[index] - max(path[0], path[-1]))",
        METRICS_TESTS,
    ),
    Mutation(
        "wa-wd-swapped-in-metric",
        "Appendix E: the metric returns (WD, WA)",
        "metrics.py",
        "return float(np.sum(both_wrong & agree) / total), float(np.sum(both_wrong & ~agree) / total)",
        "return float(np.sum(both_wrong & ~agree) / total), float(np.sum(both_wrong & agree) / total)",
        METRICS_TESTS + ENSEMBLE_TESTS,
    ),
    Mutation(
        "wa-wd-swapped-in-ensembles",
        "Appendix E: the ensemble summary stores WD as WA",
        "ensembles.py",
        "wa, wd = wrong_agreement_disagreement(",
        "wd, wa = wrong_agreement_disagreement(",
        ENSEMBLE_TESTS,
    ),
    Mutation(
        "one-stream-in-draws",
        "different noise: both copies' draws from copy A's stream",
        "data/order.py",
        "generator.manual_seed(stream_seed(noise, seed, copy))",
        "generator.manual_seed(stream_seed(noise, seed, 0))",
        DRAW_TESTS + FAST_NOISE_TESTS,
    ),
    Mutation(
        "one-stream-in-naive-engine",
        "different noise: the naive engine asks for copy A's draws for both copies",
        "train.py",
        "epoch_draws(len(y), spec.train.epochs, spec.train.noise, spec.seed, copy_index, spec.data.flip)",
        "epoch_draws(len(y), spec.train.epochs, spec.train.noise, spec.seed, 0, spec.data.flip)",
        DRAW_TESTS,
    ),
    Mutation(
        "one-stream-in-fast-engine",
        "different noise: the fast engine asks for copy A's draws for every model",
        "engine/fast.py",
        "epoch_draws(n, train.epochs, train.noise, member.spec.seed, member.copy_index, member.spec.data.flip)",
        "epoch_draws(n, train.epochs, train.noise, member.spec.seed, 0, member.spec.data.flip)",
        FAST_NOISE_TESTS,
    ),
    Mutation(
        "batchnorm-statistics-from-a",
        "Θ(λ) at interior λ keeps copy A's BatchNorm running statistics",
        "interpolate.py",
        "out[key] = torch.lerp(a, b, lam)",
        'out[key] = a.clone() if key.endswith(("running_mean", "running_var")) else torch.lerp(a, b, lam)',
        INTERPOLATION_TESTS,
    ),
)


class StaleMutation(RuntimeError):
    """A mutation's old text is not found exactly once in the source it mutates."""


def mutated_source(mutation: Mutation, package_dir: Path) -> str:
    """The text of the mutated file after the edit; raises :class:`StaleMutation` unless the old
    text occurs exactly once."""
    path = package_dir / mutation.file
    text = path.read_text(encoding="utf-8")
    count = text.count(mutation.old)
    if count != 1:
        raise StaleMutation(
            f"mutation {mutation.name!r}: expected its old text exactly once in {path}, found it {count} times; "
            f"update the mutation in tests/mutation_check.py to the current code: {mutation.old!r}"
        )
    return text.replace(mutation.old, mutation.new)


def copy_repository(destination: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", ".hypothesis", ".pytest_cache")
    for name in COPIED_DIRS:
        shutil.copytree(REPO_ROOT / name, destination / name, ignore=ignore)
    for name in COPIED_FILES:
        shutil.copy2(REPO_ROOT / name, destination / name)


def run_tests(root: Path, targets: tuple[str, ...]) -> tuple[int, list[str], str]:
    """Run pytest on ``targets`` against the package copy in ``root``: exit code, failed or
    erroring test ids, and the output."""
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1"}
    location = subprocess.run(
        [sys.executable, "-c", "import lmc_bench; print(lmc_bench.__file__)"],
        cwd=root, env=env, capture_output=True, text=True, check=True,
    ).stdout.strip()
    if not Path(location).resolve().is_relative_to(root.resolve()):
        raise RuntimeError(f"lmc_bench was imported from {location}, not from the copy in {root}")
    command = [sys.executable, "-m", "pytest", *targets, "-q", "-p", "no:cacheprovider", "-rfE", "--no-header"]
    result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
    output = result.stdout + result.stderr
    failed = [
        line.split(" ", 1)[1].split(" - ", 1)[0]
        for line in output.splitlines()
        if line.startswith(("FAILED ", "ERROR "))
    ]
    return result.returncode, failed, output


def summarize(test_ids: list[str]) -> str:
    """Failing test ids with the parametrised cases of one test folded: ``path::name [k cases]``."""
    counts: dict[str, int] = {}
    for test_id in test_ids:
        base = test_id.split("[", 1)[0]
        counts[base] = counts.get(base, 0) + 1
    return ", ".join(base if k == 1 else f"{base} [{k} cases]" for base, k in counts.items()) or "-"


def check(mutation: Mutation | None, targets: tuple[str, ...]) -> tuple[int, list[str], str]:
    """Tests of ``targets`` on a fresh copy of the repository, mutated by ``mutation`` if given."""
    with tempfile.TemporaryDirectory(prefix="lmc-bench-mutation-") as tmp:
        root = Path(tmp)
        copy_repository(root)
        if mutation is not None:
            (root / "lmc_bench" / mutation.file).write_text(mutated_source(mutation, root / "lmc_bench"), encoding="utf-8")
        return run_tests(root, targets)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="mutations to check (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    args = parser.parse_args(argv)
    by_name = {m.name: m for m in MUTATIONS}
    if args.list:
        for m in MUTATIONS:
            print(f"{m.name:28} lmc_bench/{m.file:16} {m.breaks}")
        return 0
    unknown = [n for n in args.names if n not in by_name]
    if unknown:
        parser.error(f"unknown mutation(s) {unknown}; known: {list(by_name)}")
    selected = [by_name[n] for n in args.names] if args.names else list(MUTATIONS)
    for mutation in selected:  # fail before any test runs if a mutation no longer applies
        mutated_source(mutation, REPO_ROOT / "lmc_bench")

    all_targets = tuple(dict.fromkeys(t for m in selected for t in m.tests))
    start = time.perf_counter()
    code, failed, output = check(None, all_targets)
    rows = [("(no mutation)", "passes" if code == 0 else "FAILS", summarize(failed), time.perf_counter() - start)]
    problems = []
    if code != 0:
        problems.append(f"the unmutated tests fail (exit {code}):\n{output}")
    for mutation in selected:
        start = time.perf_counter()
        code, failed, output = check(mutation, mutation.tests)
        if code == 1 and failed:
            verdict = "caught"
        elif code == 0:
            verdict = "NOT caught"
            problems.append(f"{mutation.name} survives: {', '.join(mutation.tests)} pass with it")
        else:
            verdict = f"ERROR {code}"
            problems.append(f"{mutation.name}: pytest could not run (exit {code}):\n{output}")
        rows.append((mutation.name, verdict, summarize(failed), time.perf_counter() - start))

    width = max(len(r[0]) for r in rows)
    print(f"{'mutation':{width}}  {'result':10}  {'seconds':>7}  failing tests")
    for name, verdict, tests, seconds in rows:
        print(f"{name:{width}}  {verdict:10}  {seconds:7.1f}  {tests}")
    for problem in problems:
        print(f"\n{problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
