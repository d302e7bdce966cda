"""Content-addressed results store: one folder per run, named by the hash of its full spec.

Layout under the results directory::

    runs/<hash>/record.json          spec, learning curves, interpolation path, metrics
    runs/<hash>/tensors.safetensors  endpoint weights and the path's test-set log-probabilities
    claims/<claim-key>.json          outcome of one claim test (read by the report)

Writes are atomic (a temporary sibling folder or file, then ``os.replace``), and training a run is
guarded by a file lock, so concurrent pytest-xdist workers train each run once and an interrupted
run leaves nothing half-written behind.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import torch
from filelock import FileLock
from safetensors.torch import load_file, save_file

from .config import AUTO_ENGINE, RunSpec, canonical_json, spec_hash

DEFAULT_RESULTS_DIR = ".lmc-results"


class StoreError(RuntimeError):
    """A store entry that cannot be read; names the path and the fix."""


def _write_json_atomic(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(payload, f, indent=1, sort_keys=True, allow_nan=True)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ResultsStore:
    """Runs keyed by :func:`lmc_bench.config.spec_hash`; claim outcomes keyed by claim test."""

    def __init__(self, root: str | Path = DEFAULT_RESULTS_DIR):
        self.root = Path(root).expanduser()
        self.runs_dir = self.root / "runs"
        self.claims_dir = self.root / "claims"

    def run_dir(self, spec: RunSpec) -> Path:
        if spec.engine == AUTO_ENGINE:
            raise ValueError("a stored run names its engine; resolve the spec's \"auto\" engine first "
                             "(lmc_bench.experiment.resolve_engine(spec, device), or RunSpec.from_dict(record['spec']))")
        return self.runs_dir / spec_hash(spec)

    def has(self, spec: RunSpec) -> bool:
        return (self.run_dir(spec) / "record.json").is_file()

    def load(self, spec: RunSpec) -> dict:
        """The record of a finished run (tensors are read on demand by :meth:`load_tensors`)."""
        path = self.run_dir(spec) / "record.json"
        try:
            record = json.loads(path.read_text())
        except FileNotFoundError:
            raise StoreError(f"no finished run at {path}; train it first (lmc-bench run or the claim tests)") from None
        except json.JSONDecodeError as err:
            raise StoreError(f"unreadable record {path} ({err}); delete {path.parent} to retrain it") from None
        if record.get("spec_json") != canonical_json(spec):
            raise StoreError(f"{path} holds another spec than its name says; delete {path.parent} to retrain it")
        return record

    def load_tensors(self, spec: RunSpec) -> dict[str, torch.Tensor]:
        path = self.run_dir(spec) / "tensors.safetensors"
        try:
            return load_file(path)
        except Exception as err:  # safetensors raises several error types for damaged files
            raise StoreError(f"unreadable tensors {path} ({err}); delete {path.parent} to retrain it") from None

    def save(self, spec: RunSpec, record: dict, tensors: dict[str, torch.Tensor]) -> None:
        """Write the run's folder atomically: all of it appears at once, or none of it."""
        final = self.run_dir(spec)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp"))
        try:
            save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, tmp / "tensors.safetensors")
            record = {**record, "spec": spec.to_dict(), "spec_json": canonical_json(spec), "hash": spec_hash(spec)}
            _write_json_atomic(tmp / "record.json", record)
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def lock(self, spec: RunSpec) -> FileLock:
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.runs_dir / f"{spec_hash(spec)}.lock"))

    def records(self) -> Iterator[dict]:
        """Every finished run's record."""
        if not self.runs_dir.is_dir():
            return
        for path in sorted(self.runs_dir.glob("*/record.json")):
            yield json.loads(path.read_text())

    def save_claim(self, key: str, outcome: dict) -> None:
        _write_json_atomic(self.claims_dir / f"{key}.json", outcome)

    def clear_claims(self) -> None:
        """Forget earlier claim outcomes (trained runs stay)."""
        for path in self.claims_dir.glob("*.json"):
            path.unlink()

    def claim_outcomes(self) -> list[dict]:
        if not self.claims_dir.is_dir():
            return []
        return [json.loads(p.read_text()) for p in sorted(self.claims_dir.glob("*.json"))]
