"""A per-run file lock that leaves no file behind.

``filelock`` keeps its lock file in place on release (waiters share its inode), so every run ever
trained would leave an empty ``<hash>.lock``. This lock removes its file on release, safely: the
holder unlinks the file while it still holds the lock, and a waiter that then wins the lock on the
unlinked file sees that the path no longer names its file and starts over (the usual flock
protocol). Where ``fcntl`` is missing (Windows) it falls back to ``filelock.FileLock``.
"""

from __future__ import annotations

import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not on the POSIX systems the suite runs on
    fcntl = None


class RunLock:
    """Exclusive lock on ``path`` across processes (and threads); context manager; not re-entrant."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._fd: int | None = None
        self._fallback = None
        if fcntl is None:
            from filelock import FileLock

            self._fallback = FileLock(str(self.path))

    def acquire(self) -> None:
        if self._fallback is not None:
            self._fallback.acquire()
            return
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                if self._names_our_file(fd):
                    self._fd = fd
                    return
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)  # the holder before us removed the file: lock the one now at the path

    def _names_our_file(self, fd: int) -> bool:
        try:
            on_disk = os.stat(self.path)
        except FileNotFoundError:
            return False
        ours = os.fstat(fd)
        return (on_disk.st_dev, on_disk.st_ino) == (ours.st_dev, ours.st_ino)

    def release(self) -> None:
        if self._fallback is not None:
            self._fallback.release()
            return
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "RunLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
