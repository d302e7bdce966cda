"""The store under damage and misuse: damaged runs are named, set aside and retrained; temporary
folders are never read; permissions follow the umask; no lock file outlives its run; nothing is
written before the data and the store are checked; diverged runs are stored as such."""

import json
import os
import threading
import time

import pytest
import torch

from lmc_bench.config import DataSpec, RunSpec, TrainSpec
from lmc_bench.data.roots import DatasetNotFoundError
from lmc_bench.experiment import run_experiments
from lmc_bench.locking import RunLock
from lmc_bench.progress import announcements_to
from lmc_bench.claims import Measurement, Setting
from lmc_bench.report import TABLE_I_HEADER, build_report, recommendations_table
from lmc_bench.store import ResultsStore, StoreError

SPEC = RunSpec(model="mlp_l1", data=DataSpec(dataset="digits_bundled"), train=TrainSpec(epochs=1), engine="fast")


def train(store, spec=SPEC):
    lines = []
    with announcements_to(lines.append):
        [record] = run_experiments([spec], store, "cpu", show_progress=False)
    return record, lines


@pytest.fixture
def store(tmp_path):
    store = ResultsStore(tmp_path / "results")
    train(store)
    return store


def test_truncated_record_is_named_set_aside_and_retrained(store, tmp_path):
    record_path = store.run_dir(SPEC) / "record.json"
    record_path.write_text(record_path.read_text()[:200])
    paths = build_report(store, tmp_path / "report")  # the report warns and goes on
    assert str(record_path) in paths["md"].read_text()
    record, lines = train(store)
    assert any("set aside" in line and str(record_path) in line for line in lines)
    assert record["metrics"]["barrier"] >= 0 and store.check(SPEC)
    [quarantined] = store.quarantine_dir.iterdir()
    assert "unreadable record" in (quarantined / "reason.txt").read_text()


def test_tensor_file_is_checked_against_the_record(store):
    record = store.load(SPEC)
    tensors = store.run_dir(SPEC) / "tensors.safetensors"
    assert len(record["tensors_sha256"]) == 64
    data = bytearray(tensors.read_bytes())
    data[-1] ^= 0xFF
    tensors.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="checksum"):
        store.load_tensors(SPEC)
    _, lines = train(store)
    assert any("checksum" in line for line in lines)
    assert store.load_tensors(SPEC)["path_log_probs"].ndim == 3


def test_temporary_folders_are_never_read(store):
    leftover = store.runs_dir / f".{store.run_dir(SPEC).name}.x1y2.tmp"
    leftover.mkdir()
    (leftover / "record.json").write_text(json.dumps(store.load(SPEC)))
    records, problems = store.read_records()
    assert len(records) == 1 and not problems


@pytest.mark.parametrize("umask, folder_mode, file_mode", [(0o022, 0o755, 0o644), (0o077, 0o700, 0o600), (0o002, 0o775, 0o664)])
def test_permissions_follow_the_umask(tmp_path, umask, folder_mode, file_mode):
    old = os.umask(umask)
    try:
        store = ResultsStore(tmp_path)
        store.save(SPEC, {}, {"w": torch.ones(1)})
        store.save_claim("c", {})
    finally:
        os.umask(old)
    folder = store.run_dir(SPEC)
    assert folder.stat().st_mode & 0o777 == folder_mode
    for path in (folder / "record.json", folder / "tensors.safetensors", store.claims_dir / "c.json"):
        assert path.stat().st_mode & 0o777 == file_mode, path


def test_no_lock_file_outlives_its_run(store, tmp_path, monkeypatch):
    assert not list(store.runs_dir.glob("*.lock"))
    import lmc_bench.experiment as experiment

    def crash(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(experiment, "train_pairs", crash)
    with pytest.raises(RuntimeError):
        train(store, SPEC.replace(seed=2))
    assert not list(store.runs_dir.glob("*.lock"))


def test_run_lock_excludes_and_survives_the_removal_of_its_file(tmp_path):
    """A waiter that wins the lock on a file its holder removed starts over on the current file."""
    path, inside, overlaps = tmp_path / "x.lock", [], []

    def hold(name):
        for _ in range(5):
            with RunLock(path):
                if inside:
                    overlaps.append(name)
                inside.append(name)
                time.sleep(0.002)
                inside.remove(name)

    threads = [threading.Thread(target=hold, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not overlaps and not path.exists()


def test_nothing_is_written_before_the_data_check(tmp_path):
    results = tmp_path / "results"
    spec = SPEC.replace(data=DataSpec(dataset="mnist"))
    with pytest.raises(DatasetNotFoundError):
        run_experiments([spec], ResultsStore(results), "cpu", data_root=str(tmp_path / "no-data"), show_progress=False)
    assert not results.exists()


def test_a_results_dir_that_is_a_file_is_named(tmp_path):
    path = tmp_path / "results"
    path.write_text("")
    with pytest.raises(StoreError, match=f"{path} is a file, not a folder.*--results-dir"):
        run_experiments([SPEC], ResultsStore(path), "cpu", show_progress=False)


def test_a_read_only_store_is_named_before_training(tmp_path, monkeypatch):
    import lmc_bench.experiment as experiment

    trained = []
    monkeypatch.setattr(experiment, "train_pairs", lambda *a, **k: trained.append(1))
    monkeypatch.setattr("lmc_bench.store.os.access", lambda path, mode: False)
    with pytest.raises(StoreError, match=f"{tmp_path}.* is not writable.*--results-dir"):
        run_experiments([SPEC], ResultsStore(tmp_path), "cpu", show_progress=False)
    assert not trained


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_store_folder_is_refused(tmp_path):
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(StoreError, match="not writable"):
            ResultsStore(tmp_path / "results").ensure_writable()
    finally:
        tmp_path.chmod(0o700)


@pytest.mark.parametrize("lr, loss_finite", [(1e30, False), (1e3, True)])
def test_diverged_runs_are_stored_with_flag_and_epoch(tmp_path, lr, loss_finite):
    spec = SPEC.replace(**{"train.lr": lr})
    record, lines = train(ResultsStore(tmp_path), spec)
    assert record["diverged"] and record["divergence"]["epoch"] == 1 and record["divergence"]["copy"] == "A"
    assert (record["divergence"]["train_loss"] == record["divergence"]["train_loss"]) == loss_finite
    assert any("DIVERGED" in line and "epoch 1" in line for line in lines)
    [row] = recommendations_table([record])
    assert row[TABLE_I_HEADER.index("diverged")] == "1" and row[TABLE_I_HEADER.index("stable seeds")] == "0/1"
    measurement = Measurement(Setting("s", spec), [record])
    assert "diverged: seed 1 at epoch 1" in measurement.describe("delta")
