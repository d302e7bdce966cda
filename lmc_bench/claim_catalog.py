"""The claim suite as data: every claim test with its :class:`~lmc_bench.claims.ClaimRow`, collected
the way pytest collects it (``lmc-bench list``, ``lmc-bench verify --claim``)."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

import pytest

from .claims import ClaimRow
from .config import PAPER_SEEDS
from .data.loading import BUNDLED

REPO_ROOT = Path(__file__).resolve().parent.parent
CLAIMS_DIR = REPO_ROOT / "claims"


@dataclass(frozen=True)
class ClaimTest:
    """One collected claim test: its pytest node id, its row, and the known-finding reason when it is
    a strict xfail ("" otherwise)."""

    nodeid: str
    row: ClaimRow
    finding: str = ""


def pytest_config_args(claims_dir: Path = CLAIMS_DIR) -> list[str]:
    """pytest arguments that run the claim suite with the repository's settings from any working
    folder (``--rootdir`` alone would leave the markers and options of pyproject.toml unread)."""
    root = claims_dir.parent
    return ["-c", str(root / "pyproject.toml"), "--rootdir", str(root)]


class _Collector:
    """pytest plugin that keeps the collected claim tests."""

    def __init__(self):
        self.tests: list[ClaimTest] = []

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items):
        for item in items:
            callspec = getattr(item, "callspec", None)
            row = callspec.params.get("row") if callspec else None
            if isinstance(row, ClaimRow):
                xfail = item.get_closest_marker("xfail")
                self.tests.append(ClaimTest(item.nodeid, row, xfail.kwargs.get("reason", "") if xfail else ""))


def collect_claim_tests(selection: list[str] | tuple[str, ...] = (), claims_dir: Path = CLAIMS_DIR) -> list[ClaimTest]:
    """The claim tests under ``claims_dir``, filtered by pytest arguments such as ``["-k", "C4"]``
    or ``["-m", "smoke"]``. Raises FileNotFoundError when the claim tests are not there (an
    installation without the repository checkout)."""
    if not claims_dir.is_dir():
        raise FileNotFoundError(f"claim tests not found at {claims_dir}; install from a checkout with pip install -e .")
    collector = _Collector()
    args = [str(claims_dir), "--collect-only", "-q", "-p", "no:cacheprovider", "-p", "no:benchmark", *pytest_config_args(claims_dir), *selection]
    with contextlib.redirect_stdout(io.StringIO()) as output:
        code = pytest.main(args, plugins=[collector])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        raise RuntimeError(f"collecting the claim tests under {claims_dir} failed (pytest exit code {int(code)}):\n"
                           + output.getvalue()[-2000:])
    return collector.tests


def needs(row: ClaimRow) -> str:
    """What a claim test needs to run: device and data."""
    if row.tier == "smoke":
        return "CPU; bundled data"
    external = sorted(row.datasets() - set(BUNDLED))
    return "CUDA GPU (--gpu)" + (f"; --data-root with {', '.join(external)}" if external else "")


def stored_runs(row: ClaimRow, store) -> tuple[int, int]:
    """(runs of ``row`` in ``store``, runs it needs): every setting over the paper's seeds, with the
    engine its tier's device resolves to (CUDA for the full tier, the CPU for the smoke tier)."""
    from .experiment import resolve_engine

    device = "cuda" if row.tier == "full" else "cpu"
    specs = [resolve_engine(s.spec.replace(seed=seed), device) for s in row.settings for seed in PAPER_SEEDS]
    return sum(store.has(spec) for spec in specs), len(specs)


def describe_claim_tests(tests: list[ClaimTest], store) -> str:
    """A plain-text table: one block per claim, one line per test (tier, id, needs, runs stored)."""
    width = max(len(t.row.id) for t in tests)
    needs_width = max(len(needs(t.row)) for t in tests)
    lines, claim = [], None
    for test in sorted(tests, key=lambda t: (t.row.claim, t.row.tier != "smoke")):
        if test.row.claim != claim:
            claim = test.row.claim
            lines += ["" if lines else None, f"{claim}  {test.row.title} ({test.row.section})"]
        have, total = stored_runs(test.row, store)
        finding = "  known finding (strict xfail)" if test.finding else ""
        lines.append(f"  {test.row.tier:<5}  {test.row.id:<{width}}  {needs(test.row):<{needs_width}}  {have}/{total} runs stored{finding}")
    return "\n".join(line for line in lines if line is not None)
