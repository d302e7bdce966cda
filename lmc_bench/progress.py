"""What long work tells the user: tqdm bars on an interactive terminal, and one line per finished
run (or warning) wherever the output goes, a pipe or a CI log included.

:func:`announce` writes a line to stderr; a front end can send the lines elsewhere with
:func:`announcements_to` (the pytest plugin sends them to the terminal, past output capture).
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Callable, Iterator

from tqdm.auto import tqdm

_sinks: list[Callable[[str], None]] = []


def progress_enabled() -> bool:
    """True on a TTY outside pytest-xdist workers (their output is captured anyway)."""
    return sys.stderr.isatty() and "PYTEST_XDIST_WORKER" not in os.environ


def progress_bar(total: int, desc: str, enabled: bool = True) -> tqdm:
    return tqdm(total=total, desc=desc, leave=False, disable=not (enabled and progress_enabled()))


def announce(message: str) -> None:
    """One line for the user (a finished run, a damaged run set aside), prefixed ``lmc-bench:``."""
    line = f"lmc-bench: {message}"
    if _sinks:
        _sinks[-1](line)
    else:
        tqdm.write(line, file=sys.stderr)


@contextlib.contextmanager
def announcements_to(sink: Callable[[str], None]) -> Iterator[None]:
    """Send :func:`announce` lines to ``sink`` inside the block."""
    _sinks.append(sink)
    try:
        yield
    finally:
        _sinks.remove(sink)
