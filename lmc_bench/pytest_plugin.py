"""pytest plugin: the options of the claim suite and the recording of claim outcomes.

Options: ``--tier smoke|full``, ``--device auto|cpu|cuda``, ``--gpu``, ``--data-root``,
``--results-dir``, ``--engine``.
Every claim test takes a :class:`lmc_bench.claims.ClaimRow` parameter named ``row``; the plugin
marks it with its claim id and tier (``-m C4``, ``-m smoke``), prints a line per run it trains
(past output capture), and writes one outcome per claim test (status, reason, paper and measured
numbers) into the results store, where ``lmc-bench report`` finds them.
"""

from __future__ import annotations

import os
import sys
import time

import pytest

from .claims import ClaimContext, ClaimRow, outcome_key, outcome_record
from .config import ENGINES
from .devices import DEVICE_CHOICES
from .progress import announcements_to
from .store import DEFAULT_RESULTS_DIR, ResultsStore

TIERS = ("smoke", "full")
_OUTCOME = pytest.StashKey[dict]()
_STARTED = pytest.StashKey[float]()


def pytest_addoption(parser):
    group = parser.getgroup("lmc-bench", "claim suite")
    group.addoption("--tier", choices=TIERS, default="smoke",
                    help="smoke: scaled analogues on bundled data (CPU); full: the paper's configurations")
    group.addoption("--device", choices=DEVICE_CHOICES, default="auto",
                    help="where to train (default: %(default)s = CUDA when available; full-tier claims without CUDA "
                         "skip with their estimated cost unless --device cpu is given)")
    group.addoption("--gpu", action="store_true", help="train on CUDA, each xdist worker pinned to one GPU")
    group.addoption("--data-root", default=None, help="folder holding MNIST / FashionMNIST / CIFAR-10 / bigearthnet-cache")
    group.addoption("--results-dir", default=DEFAULT_RESULTS_DIR, help="results store (default: %(default)s)")
    group.addoption("--engine", choices=ENGINES, default=None, help="training engine (default: the fastest that passes its gates)")


def pin_worker_to_gpu() -> None:
    """Give each xdist worker one GPU, round-robin over the visible devices, before CUDA starts."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible:
        devices = [d for d in visible.split(",") if d.strip()]
    else:
        import torch

        devices = [str(i) for i in range(torch.cuda.device_count())]
    if devices:
        os.environ["CUDA_VISIBLE_DEVICES"] = devices[int(worker.removeprefix("gw")) % len(devices)]


def pytest_configure(config):
    if config.getoption("--gpu", default=False):
        pin_worker_to_gpu()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Mark each claim test with its claim id (``-m C4``) and its tier (``smoke`` or ``full``; full
    ones also ``gpu`` and ``slow``), so ``-m smoke`` or ``-m full`` selects a tier. Runs before
    ``-k`` / ``-m`` deselection, so both see these marks."""
    registered = {line.split(":")[0] for line in config.getini("markers")}
    for item in items:
        row = claim_row_of(item)
        if row is None:
            continue
        if row.claim not in registered:
            config.addinivalue_line("markers", f"{row.claim}: tests of claim {row.claim}")
            registered.add(row.claim)
        item.add_marker(row.claim)
        item.add_marker(row.tier)
        if row.tier == "full":
            item.add_marker("gpu")
            item.add_marker("slow")


def claim_row_of(item) -> ClaimRow | None:
    """The :class:`ClaimRow` a collected claim test is parametrized with (None for other tests)."""
    callspec = getattr(item, "callspec", None)
    row = callspec.params.get("row") if callspec else None
    return row if isinstance(row, ClaimRow) else None


@pytest.fixture(scope="session")
def claim_context(request) -> ClaimContext:
    """Tier, device, data root and store shared by all claim tests of a session."""
    opt = request.config.getoption
    return ClaimContext(
        tier=opt("--tier"),
        gpu=opt("--gpu"),
        data_root=opt("--data-root"),
        store=ResultsStore(opt("--results-dir")),
        engine=opt("--engine"),
        requested_device=opt("--device"),
    )


@pytest.fixture
def claim(request, claim_context):
    """The claim test's recorder: ``claim.measure(setting)`` trains (or reads) all seeds of a setting,
    records paper vs measured numbers, and returns the measurement."""
    row = claim_row_of(request.node)
    if row is None:
        raise pytest.UsageError("the 'claim' fixture needs a parameter named 'row' holding a ClaimRow")
    skip_reason = claim_context.missing_requirements(row)
    if skip_reason:
        pytest.skip(skip_reason)
    recorder = claim_context.recorder(row)
    request.node.stash[_OUTCOME] = recorder.outcome
    with announcements_to(_terminal_lines(request.config)):
        yield recorder


def _terminal_lines(config):
    """Write a line to the terminal past pytest's output capture (a finished run, a warning), so
    that progress shows in a pipe or a CI log too."""
    capture = config.pluginmanager.getplugin("capturemanager")
    terminal = config.pluginmanager.getplugin("terminalreporter")

    def write(line: str) -> None:
        if terminal is None or capture is None:
            print(line, file=sys.stderr, flush=True)
            return
        with capture.global_and_fixture_disabled():
            terminal.write_line(line)

    return write


def pytest_runtest_setup(item):
    item.stash[_STARTED] = time.perf_counter()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    row = claim_row_of(item)
    if row is None:
        return report
    final = (report.when == "call") or (report.when == "setup" and not report.passed)
    if final:
        outcome = item.stash.get(_OUTCOME, {})
        record = outcome_record(row, report, outcome, time.perf_counter() - item.stash.get(_STARTED, time.perf_counter()))
        save_outcome(ResultsStore(item.config.getoption("--results-dir")), outcome_key(item.nodeid), record)
    return report


def save_outcome(store: ResultsStore, key: str, record: dict) -> None:
    """Store a claim test's outcome. A skip never replaces an earlier verdict of the same test
    (a session without a GPU or data keeps what a session with them found)."""
    if record["status"] == "skipped":
        earlier = store.claim_outcome(key)
        if earlier is not None and earlier.get("status") != "skipped":
            return
    store.save_claim(key, record)
