"""The claim suite as data: every claim test with its :class:`~lmc_bench.claims.ClaimRow`, collected
the way pytest collects it (``lmc-bench list``, ``lmc-bench verify --claim``)."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

import pytest

from .claims import ClaimRow

REPO_ROOT = Path(__file__).resolve().parent.parent
CLAIMS_DIR = REPO_ROOT / "claims"


@dataclass(frozen=True)
class ClaimTest:
    """One collected claim test: its pytest node id, its row, and the known-finding reason when it is
    a strict xfail ("" otherwise)."""

    nodeid: str
    row: ClaimRow
    finding: str = ""


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
    args = [str(claims_dir), "--collect-only", "-q", "-p", "no:cacheprovider", "--rootdir", str(claims_dir.parent), *selection]
    with contextlib.redirect_stdout(io.StringIO()) as output:
        code = pytest.main(args, plugins=[collector])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        raise RuntimeError(f"collecting the claim tests under {claims_dir} failed (pytest exit code {int(code)}):\n"
                           + output.getvalue()[-2000:])
    return collector.tests
