"""Progress bars for long work: tqdm on an interactive terminal, silent elsewhere."""

from __future__ import annotations

import os
import sys

from tqdm.auto import tqdm


def progress_enabled() -> bool:
    """True on a TTY outside pytest-xdist workers (their output is captured anyway)."""
    return sys.stderr.isatty() and "PYTEST_XDIST_WORKER" not in os.environ


def progress_bar(total: int, desc: str, enabled: bool = True) -> tqdm:
    return tqdm(total=total, desc=desc, leave=False, disable=not (enabled and progress_enabled()))
