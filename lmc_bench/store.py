"""Content-addressed results store: one folder per run, named by the hash of its full spec.

Layout under the results directory::

    runs/<hash>/record.json          spec, learning curves, interpolation path, metrics, and the
                                     SHA-256 of the tensor file
    runs/<hash>/tensors.safetensors  endpoint weights and the path's test-set log-probabilities
    runs/<hash>.lock                 held while the run trains (removed on release)
    claims/<claim-key>.json          outcome of one claim test (read by the report)
    quarantine/<hash>-<time>/        a damaged run set aside (with ``reason.txt``), to be retrained

Writes are atomic (a temporary sibling folder or file, ``.<name>.*.tmp``, then ``os.replace``),
and training a run is guarded by a lock, so concurrent pytest-xdist workers train each run once
and an interrupted run leaves nothing half-written that is ever read. Files and folders get the
permissions the process umask allows, so a group can share a store.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import torch
from safetensors.torch import load_file, save_file

from .config import AUTO_ENGINE, RunSpec, canonical_json, spec_hash
from .locking import RunLock

DEFAULT_RESULTS_DIR = ".lmc-results"
RUN_FOLDER = re.compile(r"^[0-9a-f]{16}$")
"""Names of finished run folders (temporary folders start with a dot and are never read)."""
TENSORS_FILE = "tensors.safetensors"
RECORD_FILE = "record.json"


class StoreError(RuntimeError):
    """A store entry that cannot be read or written; names the path and the fix."""


def current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def honour_umask(path: Path) -> None:
    """Give ``path`` the permissions a plain ``mkdir`` / ``open`` would (``tempfile`` makes 0700 / 0600)."""
    path.chmod((0o777 if path.is_dir() else 0o666) & ~current_umask())


def write_json_atomic(path: Path, payload: dict) -> None:
    """Write ``payload`` as JSON to ``path`` through a temporary file and a rename: a reader sees
    the old file or the new one, never part of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(payload, f, indent=1, sort_keys=True, allow_nan=True)
        honour_umask(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def folder_problem(path: Path) -> str:
    """Why files cannot be written into folder ``path`` (created when missing); "" when they can.
    Nothing is created to find out."""
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        return "is a file, not a folder"
    existing = next(p for p in (path, *path.absolute().parents) if p.exists())
    if not existing.is_dir():
        return f"lies under {existing}, which is a file"
    if not os.access(existing, os.W_OK | os.X_OK):
        return "is not writable" if existing == path else f"cannot be created: {existing} is not writable"
    return ""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ResultsStore:
    """Runs keyed by :func:`lmc_bench.config.spec_hash`; claim outcomes keyed by claim test."""

    def __init__(self, root: str | Path = DEFAULT_RESULTS_DIR):
        self.root = Path(root).expanduser()
        self.runs_dir = self.root / "runs"
        self.claims_dir = self.root / "claims"
        self.quarantine_dir = self.root / "quarantine"

    def run_dir(self, spec: RunSpec) -> Path:
        if spec.engine == AUTO_ENGINE:
            raise ValueError("a stored run names its engine; resolve the spec's \"auto\" engine first "
                             "(lmc_bench.experiment.resolve_engine(spec, device), or RunSpec.from_dict(record['spec']))")
        return self.runs_dir / spec_hash(spec)

    def has(self, spec: RunSpec) -> bool:
        """Whether the run's folder exists (:meth:`check` tells whether it is intact)."""
        return (self.run_dir(spec) / RECORD_FILE).is_file()

    def load(self, spec: RunSpec) -> dict:
        """The record of a finished run (tensors are read on demand by :meth:`load_tensors`)."""
        path = self.run_dir(spec) / RECORD_FILE
        if not path.is_file():
            raise StoreError(f"no finished run at {path}; train it first (lmc-bench run or the claim tests)")
        record = _read_record(path)
        if record.get("spec_json") != canonical_json(spec):
            raise StoreError(f"{path} holds another spec than its name says; lmc-bench run or verify sets it aside and retrains it")
        return record

    def check(self, spec: RunSpec) -> dict:
        """The record, after checking that it reads and that the tensor file matches its checksum."""
        record = self.load(spec)
        self._check_tensors(self.run_dir(spec), record)
        return record

    def _check_tensors(self, folder: Path, record: dict) -> None:
        path = folder / TENSORS_FILE
        if not path.is_file():
            raise StoreError(f"tensor file {path} is missing; lmc-bench run or verify sets the run aside and retrains it")
        expected = record.get("tensors_sha256")
        if expected is not None and file_sha256(path) != expected:
            raise StoreError(f"tensor file {path} does not match the checksum in its record (damaged); "
                             f"lmc-bench run or verify sets the run aside and retrains it")

    def usable(self, spec: RunSpec, on_damage=None) -> bool:
        """Whether the run is stored intact. A damaged run is moved to ``quarantine/`` (so that it is
        trained again) and ``on_damage(message)`` is told where it went."""
        if not self.has(spec):
            return False
        try:
            self.check(spec)
        except StoreError as err:
            moved = self.quarantine(spec, str(err))
            if on_damage is not None:
                on_damage(f"damaged run set aside to {moved} ({err}); it will be retrained")
            return False
        return True

    def quarantine(self, spec: RunSpec, reason: str) -> Path:
        """Move the run's folder to ``quarantine/<hash>-<UTC time>/`` with the reason beside it."""
        source = self.run_dir(spec)
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        target = self.quarantine_dir / f"{source.name}-{stamp}"
        self.quarantine_dir.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
        (target / "reason.txt").write_text(reason + "\n")
        return target

    def load_tensors(self, spec: RunSpec) -> dict[str, torch.Tensor]:
        record = self.load(spec)
        self._check_tensors(self.run_dir(spec), record)
        path = self.run_dir(spec) / TENSORS_FILE
        try:
            return load_file(path)
        except Exception as err:  # safetensors raises several error types for damaged files
            raise StoreError(f"unreadable tensors {path} ({err}); lmc-bench run or verify sets the run aside and retrains it") from None

    def ensure_writable(self) -> None:
        """Raise StoreError naming the store and the fix unless runs can be written into it
        (nothing is created to find out)."""
        for path in (self.root, self.runs_dir):
            problem = folder_problem(path)
            if problem:
                raise StoreError(f"results store {path} {problem}; fix that or choose another results folder (--results-dir DIR)")

    def save(self, spec: RunSpec, record: dict, tensors: dict[str, torch.Tensor]) -> None:
        """Write the run's folder atomically: all of it appears at once, or none of it."""
        final = self.run_dir(spec)
        self.ensure_writable()
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp"))
        try:
            honour_umask(tmp)
            save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, tmp / TENSORS_FILE)
            honour_umask(tmp / TENSORS_FILE)
            record = {**record, "spec": spec.to_dict(), "spec_json": canonical_json(spec), "hash": spec_hash(spec),
                      "tensors_sha256": file_sha256(tmp / TENSORS_FILE)}
            write_json_atomic(tmp / RECORD_FILE, record)
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def lock(self, spec: RunSpec) -> RunLock:
        """The run's training lock (its file exists only while it is held)."""
        self.ensure_writable()
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        return RunLock(self.runs_dir / f"{spec_hash(spec)}.lock")

    def read_records(self) -> tuple[list[dict], list[str]]:
        """Every finished run's record, and a message naming each run folder that cannot be read.
        Temporary folders (a save cut short) are never read."""
        if not self.runs_dir.is_dir():
            return [], []
        records, problems = [], []
        for folder in sorted(self.runs_dir.iterdir()):
            if not (folder.is_dir() and RUN_FOLDER.match(folder.name)):
                continue
            try:
                records.append(_read_record(folder / RECORD_FILE))
            except StoreError as err:
                problems.append(str(err))
        return records, problems

    def records(self) -> Iterator[dict]:
        """Every readable finished run's record (see :meth:`read_records` for the unreadable ones)."""
        yield from self.read_records()[0]

    def save_claim(self, key: str, outcome: dict) -> None:
        write_json_atomic(self.claims_dir / f"{key}.json", outcome)

    def claim_outcome(self, key: str) -> dict | None:
        """The stored outcome of one claim test (None when there is none or it cannot be read)."""
        try:
            return json.loads((self.claims_dir / f"{key}.json").read_text())
        except (OSError, json.JSONDecodeError):
            return None

    def read_claim_outcomes(self) -> tuple[list[dict], list[str]]:
        """Every stored claim outcome, and a message naming each unreadable one."""
        if not self.claims_dir.is_dir():
            return [], []
        outcomes, problems = [], []
        for path in sorted(self.claims_dir.glob("*.json")):
            if path.name.startswith("."):
                continue
            try:
                outcomes.append(json.loads(path.read_text()))
            except (OSError, json.JSONDecodeError) as err:
                problems.append(f"unreadable claim outcome {path} ({err}); rerun its claim test (lmc-bench verify) to replace it")
        return outcomes, problems

    def claim_outcomes(self) -> list[dict]:
        return self.read_claim_outcomes()[0]


def _read_record(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise StoreError(f"run folder {path.parent} has no {path.name}; lmc-bench run or verify sets it aside and retrains it") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise StoreError(f"unreadable record {path} ({err}); lmc-bench run or verify sets it aside and retrains it") from None
