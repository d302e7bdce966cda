"""Run specs name their results; the store writes atomically and computes each run once."""

import json

import pytest
import torch

from lmc_bench.config import DataSpec, EvalSpec, RunSpec, TrainSpec, canonical_json, spec_hash
from lmc_bench.store import ResultsStore, StoreError

SPEC = RunSpec(model="mlp_l1", data=DataSpec(dataset="digits_bundled"), train=TrainSpec(epochs=2), engine="fast")


def test_hash_is_stable_and_sensitive():
    assert spec_hash(SPEC) == spec_hash(RunSpec.from_dict(json.loads(canonical_json(SPEC))))
    assert spec_hash(SPEC) != spec_hash(SPEC.replace(seed=2))
    assert spec_hash(SPEC) != spec_hash(SPEC.replace(**{"train.lr": 1e-2}))
    assert SPEC.replace(**{"train.lr": 1e-2}).train.lr == 1e-2
    assert spec_hash(SPEC) != spec_hash(SPEC.replace(**{"train.precision": "bf16"}))


def test_specs_stored_before_the_precision_field_read_as_fp32():
    record = json.loads(canonical_json(SPEC))
    del record["train"]["precision"]
    assert RunSpec.from_dict(record) == SPEC and SPEC.train.precision == "fp32"


@pytest.mark.parametrize("make", [
    lambda: DataSpec(shift="rotate"), lambda: DataSpec(imbalance_x=100), lambda: TrainSpec(noise="loud"),
    lambda: TrainSpec(batch_size=0), lambda: TrainSpec(precision="fp16"), lambda: EvalSpec(lambdas=(0.0, 1.0)), lambda: EvalSpec(bn_mode="x"),
    lambda: RunSpec(model="mlp_l1", engine="turbo"),
])
def test_invalid_specs_are_rejected(make):
    with pytest.raises(ValueError):
        make()


def test_save_and_load_roundtrip(tmp_path):
    store = ResultsStore(tmp_path)
    store.save(SPEC, {"metrics": {"barrier": 0.5}}, {"w": torch.arange(3.0)})
    assert store.has(SPEC)
    assert store.load(SPEC)["metrics"]["barrier"] == 0.5
    assert torch.equal(store.load_tensors(SPEC)["w"], torch.arange(3.0))


def test_interrupted_save_leaves_nothing_behind(tmp_path, monkeypatch):
    store = ResultsStore(tmp_path)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("lmc_bench.store.save_file", interrupted)
    with pytest.raises(KeyboardInterrupt):
        store.save(SPEC, {}, {"w": torch.zeros(1)})
    assert not store.has(SPEC)
    assert [p.name for p in store.runs_dir.iterdir()] == []


def test_a_stored_run_is_never_trained_again(tmp_path, monkeypatch):
    import lmc_bench.experiment as experiment

    calls = []
    train = experiment.train_pair_naive
    monkeypatch.setattr(experiment, "train_pair_naive", lambda *args: calls.append(1) or train(*args))
    store = ResultsStore(tmp_path)
    spec = SPEC.replace(engine="naive")
    experiment.run_experiments([spec, spec], store, "cpu", show_progress=False)
    experiment.run_experiments([spec], store, "cpu", show_progress=False)
    assert len(calls) == 1


def test_api_cli_and_claims_share_one_default_engine(tmp_path):
    """A spec that names no engine gets the one the CLI and the claim tests use, so each finds the
    others' runs in the store."""
    from lmc_bench import cli
    from lmc_bench.claims import ClaimContext, ClaimRecorder, ClaimRow, Setting
    from lmc_bench.experiment import default_engine, resolve_engine, run_experiments

    spec = RunSpec(model="mlp_l1", data=DataSpec(dataset="digits_bundled"), train=TrainSpec(epochs=1))
    assert spec.engine == "auto" and resolve_engine(spec, "cpu").engine == default_engine("mlp_l1", "cpu")
    assert cli.main(["run", "--model", "mlp_l1", "--dataset", "digits_bundled", "--epochs", "1", "--seeds", "1",
                     "--device", "cpu", "--results-dir", str(tmp_path)]) == 0
    store = ResultsStore(tmp_path)
    [from_api] = run_experiments([spec], store, "cpu", show_progress=False)
    assert len(list(store.records())) == 1 and from_api["spec"]["engine"] == default_engine("mlp_l1", "cpu")
    recorder = ClaimRecorder(ClaimContext("smoke", False, None, store), ClaimRow("C1", "t", "IV", "smoke", (), "e"))
    assert recorder.specs(Setting("l", spec))[0] == resolve_engine(spec, "cpu")


def test_damaged_record_names_path_and_fix(tmp_path):
    store = ResultsStore(tmp_path)
    store.save(SPEC, {}, {"w": torch.ones(1)})
    (store.run_dir(SPEC) / "record.json").write_text("{not json")
    with pytest.raises(StoreError, match="record.json.*sets it aside and retrains it"):
        store.load(SPEC)


def test_the_store_refuses_an_unresolved_engine(tmp_path):
    with pytest.raises(ValueError, match="resolve_engine"):
        ResultsStore(tmp_path).has(SPEC.replace(engine="auto"))
