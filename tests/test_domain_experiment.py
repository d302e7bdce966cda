"""The domain shift of Table II on a packed cache of the real example patches: subsets, test set,
per-band standardisation, the memory-mapped image set and its loader, multi-label training (BCE,
weighted AP), the spec, the --data-root path, and the C5 claim logic on given numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score

from fixtures.bigearthnet import example_v1_root
from lmc_bench.claims import ClaimContext, ClaimRecorder, Measurement
from lmc_bench.config import DataSpec, EvalSpec, RunSpec, TrainSpec, canonical_json, spec_hash
from lmc_bench.data.bigearthnet import CacheError, pack_bigearthnet
from lmc_bench.data.bigearthnet import images as images_module
from lmc_bench.data.bigearthnet.domain import CACHE_FOLDER, find_cache
from lmc_bench.data.prepare import prepare_data
from lmc_bench.experiment import run_experiments
from lmc_bench.models import build_model, count_parameters
from lmc_bench.objectives import EpochScore, loss_and_score
from lmc_bench.report import summary_rows
from lmc_bench.store import ResultsStore


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    """A --data-root holding a packed cache of the example patches (B02, B08, B04B03B02, B11B08B02)."""
    root = tmp_path_factory.mktemp("data")
    source = example_v1_root(tmp_path_factory.mktemp("raw"))
    pack_bigearthnet(source, root / CACHE_FOLDER, ("B02", "B03", "B04", "B08", "B11"), workers=0, show_progress=False)
    return root


def domain(first="B02", second="B08", **changes) -> DataSpec:
    return DataSpec(dataset="bigearthnet", shift="domain", bands=(first, second), **changes)


def test_subsets_are_the_training_patches_in_two_band_selections(data_root):
    cache = find_cache(data_root)
    data = prepare_data(domain("B4B3B2", "agriculture"), str(data_root))
    train, test = cache.rows("train"), cache.rows("test")
    assert len(data.train_x) == 2 * len(train) and data.train_x.shape[1:] == (3, 120, 120)
    assert data.subset_a.tolist() == list(range(3)) and data.subset_b.tolist() == list(range(3, 6))
    assert len(data.test_x) == len(data.test_y) == 2 * len(test)
    torch.testing.assert_close(data.train_y, torch.from_numpy(np.concatenate([cache.targets[train]] * 2)), rtol=0, atol=0)
    x_a, y_a = data.subset(0)
    x_b, y_b = data.subset(1)
    assert torch.equal(y_a, y_b)
    for images, bands, rows in ((x_a, ("B04", "B03", "B02"), train), (x_b, ("B11", "B08", "B02"), train),
                                (data.test_x[len(test):], ("B11", "B08", "B02"), test)):
        for channel, band in enumerate(bands):
            mean, std = cache.statistics(band)
            raw = cache.array(band)[rows].astype(np.float32)
            expected = (raw - np.float32(mean)) / np.float32(std)
            np.testing.assert_array_equal(images[:][:, channel].numpy(), expected)


def test_per_band_standardisation_of_the_training_data(data_root):
    x_a, _ = prepare_data(domain("B02", "B11"), str(data_root)).subset(0)
    values = x_a[:].double()
    assert abs(values.mean().item()) < 1e-6 and values.std(unbiased=False).item() == pytest.approx(1.0, abs=1e-6)


def test_image_set_indexing_and_views(data_root):
    data = prepare_data(domain(), str(data_root))
    everything = data.train_x[:]
    order = torch.tensor([5, 0, 3, 3])
    assert torch.equal(data.train_x[order], everything[order])
    assert torch.equal(data.train_x[2], everything[2])
    assert torch.equal(data.train_x.take(order)[:], everything[order])
    assert torch.equal(data.train_x[np.array([True, False, False, False, False, True])], everything[[0, 5]])


def test_worker_loader_gives_the_same_batches(data_root, monkeypatch):
    data = prepare_data(domain(), str(data_root))
    order = [4, 1, 5, 0, 2, 3]
    serial = list(data.train_x.batches(data.train_y, order, 4))
    monkeypatch.setattr(images_module, "MIN_PATCHES_FOR_WORKERS", 0)
    monkeypatch.setattr(images_module, "MAX_LOADER_WORKERS", 2)
    loader = data.train_x.batches(data.train_y, order, 4)
    assert loader.num_workers == 2
    parallel = list(loader)
    assert [len(y) for _, y in serial] == [4, 2]
    for (xs, ys), (xp, yp) in zip(serial, parallel):
        assert torch.equal(xs, xp) and torch.equal(ys, yp)
    assert torch.equal(serial[0][0], data.train_x[order[:4]])
    assert torch.equal(torch.cat(list(data.test_x.in_order(3))), data.test_x[:])


def test_multi_label_loss_and_score():
    logits = torch.tensor([[2.0, -1.0, 0.5], [-0.5, 1.5, 0.0], [0.3, 0.2, -2.0]])
    targets = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0]])
    loss, score = loss_and_score(logits, targets)
    assert loss == pytest.approx(torch.nn.BCEWithLogitsLoss()(logits, targets).item(), rel=1e-6)
    assert score == pytest.approx(100 * average_precision_score(targets.numpy(), logits.numpy(), average="weighted"))
    running = EpochScore(multi_label=True)
    running.add(logits[:2], targets[:2])
    running.add(logits[2:], targets[2:])
    assert running.percent(3) == pytest.approx(score)


def test_domain_spec_is_canonical_and_validated():
    spec = domain("b4b3b2", "natural_color")
    assert spec.bands == ("B04B03B02", "B04B03B02") and spec.model_overrides() == {"in_channels": 3}
    assert json.loads(canonical_json(RunSpec("vgg_like", data=domain())))["data"]["bands"] == ["B02", "B08"]
    assert spec_hash(RunSpec("vgg_like", data=domain())) != spec_hash(RunSpec("vgg_like", data=domain(resampling="nearest")))
    for make, message in (
        (lambda: DataSpec(dataset="bigearthnet", shift="domain", bands=("B02",)), "two band selections"),
        (lambda: domain("B02", "B4B3B2"), "same number of bands"),
        (lambda: domain("B02", "B10"), "cirrus"),
        (lambda: domain(normalization="unit"), "standardised per band"),
        (lambda: DataSpec(dataset="bigearthnet"), "the domain shift is the shift of"),
        (lambda: DataSpec(shift="domain"), "the domain shift is the shift of"),
        (lambda: DataSpec(bands=("B02", "B03")), "bands are for the domain shift only"),
        (lambda: domain(resampling="cubic"), "unknown resampling"),
    ):
        with pytest.raises(ValueError, match=message):
            make()


def test_vgg_like_takes_the_channels_of_the_selection():
    assert count_parameters(build_model("vgg_like", "bigearthnet", **domain().model_overrides())) == 1_082_771
    assert count_parameters(build_model("vgg_like", "bigearthnet", **domain("B4B3B2", "B8B4B3").model_overrides())) == 1_083_923


def test_domain_shift_trains_end_to_end_from_the_data_root(data_root, tmp_path):
    """One seed, one epoch, on a cache found under --data-root: BCE test loss along the path, Δ in weighted AP."""
    spec = RunSpec("vgg_like", data=domain(), train=TrainSpec(lr=1e-5, batch_size=2, epochs=1),
                   eval=EvalSpec(lambdas=(0.0, 0.5, 1.0)), engine="naive")
    [record] = run_experiments([spec], ResultsStore(tmp_path), "cpu", data_root=str(data_root), show_progress=False)
    data = prepare_data(spec.data, str(data_root))
    logits = ResultsStore(tmp_path).load_tensors(spec)["path_log_probs"]
    assert logits.shape == (3, len(data.test_y), 19) and record["subset_sizes"] == [3, 3] and record["test_size"] == 4
    assert record["path"]["test_loss"][1] == pytest.approx(torch.nn.BCEWithLogitsLoss()(logits[1], data.test_y).item(), rel=1e-6)
    assert record["path"]["test_acc"][0] == pytest.approx(record["history"]["a"]["test_acc"][-1])
    star = record["path"]["lambdas"].index(record["metrics"]["lambda_star"])
    assert record["metrics"]["delta"] == pytest.approx(record["path"]["test_acc"][star] - 0.5 * (record["path"]["test_acc"][0]
                                                                                                 + record["path"]["test_acc"][2]))


def test_missing_cache_or_band_names_the_fix(tmp_path, data_root):
    with pytest.raises(FileNotFoundError, match=f"(?s)no packed cache under data root {tmp_path}.*pack-bigearthnet"):
        find_cache(tmp_path)
    with pytest.raises(CacheError, match="holds bands B02, B03, B04, B08, B11, not B12; add them with"):
        prepare_data(domain("B02", "B12"), str(data_root))
    with pytest.raises(ValueError, match="packed with bilinear resampling, the run asks for nearest"):
        prepare_data(domain(resampling="nearest"), str(data_root))


# --- the C5 claim logic on given numbers ---------------------------------------------------------


def _measurement(setting, deltas, barriers) -> Measurement:
    records = [{"metrics": {"delta": d, "barrier": b}, "spec": {"seed": s}, "hash": str(s)}
               for s, (d, b) in enumerate(zip(deltas, barriers))]
    return Measurement(setting, records)


class GivenNumbers(ClaimRecorder):
    """A recorder whose measurements are given, not trained."""

    def __init__(self, row, numbers: dict):
        super().__init__(ClaimContext("full", True, None, None), row)
        self.numbers = numbers

    def measure(self, setting):
        return _measurement(setting, *self.numbers[setting.label])


def _claims():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "claims" / "test_domain_shift.py"
    spec = importlib.util.spec_from_file_location("c5_claims", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _gap_numbers(c5, slope: float) -> dict:
    from lmc_bench.data.bigearthnet import wavelength_gap_nm

    return {s.label: ([slope * wavelength_gap_nm(*s.spec.data.bands) / 25] * 2, [0.2, 0.3]) for s in c5.SINGLE}


def test_c5_gap_claim_passes_and_fails_on_given_numbers():
    c5 = _claims()
    c5.test_c5_larger_wavelength_gap_larger_drop(c5.GAP_ROW, GivenNumbers(c5.GAP_ROW, _gap_numbers(c5, -1.0)))
    with pytest.raises(AssertionError, match="Spearman"):
        c5.test_c5_larger_wavelength_gap_larger_drop(c5.GAP_ROW, GivenNumbers(c5.GAP_ROW, _gap_numbers(c5, 1.0)))


def test_c5_pair_and_overlap_claims_on_given_numbers():
    c5 = _claims()
    numbers = _gap_numbers(c5, -1.0) | {s.label: ([-2.0, -1.0], [0.01, 0.02]) for s in c5.COMBINED}
    c5.test_c5_overlapping_combinations_drop_less(c5.OVERLAP_ROW, GivenNumbers(c5.OVERLAP_ROW, numbers))
    single, combined = c5.PAIR_ROWS[0], c5.PAIR_ROWS[-1]
    c5.test_c5_band_pair(single, GivenNumbers(single, numbers))
    with pytest.raises(AssertionError, match="barrier < 0.1"):
        c5.test_c5_band_pair(combined, GivenNumbers(combined, {combined.settings[0].label: ([-1.0], [0.4])}))
    with pytest.raises(AssertionError, match="Δ ≥ -20 pp"):
        c5.test_c5_band_pair(single, GivenNumbers(single, {single.settings[0].label: ([-25.0], [0.4])}))


def test_report_shows_a_pipeline_check_and_the_paper_statement():
    setting = {"label": "B02 vs B08", "seeds": [1], "paper": {}, "paper_statement": "small barrier (no per-pair numbers)",
               "measured": {"barrier": [0.1, 0.0], "delta": [-3.0, 0.0]}}
    outcome = {"claim": "C5", "row": "B02 vs B08", "status": "passed", "tier": "smoke", "analogue": "six patches",
               "wall_seconds": 1.0, "settings": [setting], "kind": "pipeline check"}
    [row] = summary_rows([outcome])
    assert row[2] == "small barrier (no per-pair numbers)" and row[4].words == "pipeline check passed (not evidence)"
    assert summary_rows([{**outcome, "kind": "claim"}])[0][4].words == "reproduced"


def test_band_pair_figure_orders_pairs_by_wavelength_gap():
    from lmc_bench.plots_domain import band_pair_figure, pair_label

    def runs(bands, delta):
        spec = {"data": {"shift": "domain", "bands": bands}}
        return [{"spec": spec, "metrics": {"delta": delta + s, "barrier": 0.1}} for s in (0.0, 1.0)]

    settings = [("a", runs(["B02", "B08"], -9.0)), ("b", runs(["B02", "B03"], -2.0)),
                ("c", runs(["B04B03B02", "B08B04B03"], -1.0))]
    figure = band_pair_figure(settings)
    labels = [t.get_text() for t in figure.axes[1].get_xticklabels()]
    assert labels == ["B02–B03\n70 nm", "B02–B08\n352 nm", "B04B03B02–B08B04B03\n2 shared"]
    assert band_pair_figure(settings[:1]) is None and pair_label(["B11B08B02", "B04B03B02"])[1].endswith("1 shared")
