"""Layer-wise pass and predictions of a stored pair (claims B2, B3), and their report figures,
end to end on the bundled 8x8 digits."""

import math

import numpy as np
import pytest

from lmc_bench.config import DataSpec, RunSpec, TrainSpec
from lmc_bench.experiment import run_experiments
from lmc_bench.layerwise_plots import claim_figures
from lmc_bench.pair_analysis import layerwise_summary, midpoint_barrier, predicted_barriers
from lmc_bench.report import build_report
from lmc_bench.store import ResultsStore

SPEC = RunSpec(model="mlp_l1_bn", data=DataSpec(dataset="digits_bundled"), train=TrainSpec(lr=1e-2, batch_size=64, epochs=2),
               engine="fast")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return ResultsStore(tmp_path_factory.mktemp("results"))


@pytest.fixture(scope="module")
def record(store):
    return run_experiments([SPEC], store, "cpu", show_progress=False)[0]


@pytest.fixture(scope="module")
def summary(store, record):
    return layerwise_summary(SPEC, store, None, "cpu", lambdas=(0.0, 0.5, 1.0))


def test_layerwise_pass_of_a_stored_pair_reproduces_its_path(record, summary):
    test = summary["test"]
    assert test["layers"] == ["1", "2", "4"] and set(summary) == {"seed", "test", "train"}
    path = record["path"]
    assert test["full_loss"] == pytest.approx([path["test_loss"][path["lambdas"].index(lam)] for lam in (0.0, 0.5, 1.0)], rel=1e-4)
    assert test["full_midpoint_barrier"] == pytest.approx(midpoint_barrier(record), rel=1e-4, abs=1e-5)
    assert np.shape(test["midpoint_mixtures"]) == (2, 3)
    assert summary["train"]["cumulative"]["values"]["deep"][0][-1] == pytest.approx(summary["train"]["full_midpoint_barrier"], abs=1e-5)


def test_predictions_of_a_stored_pair(store, record):
    predicted = predicted_barriers(SPEC, store, None, "cpu", per_layer=True)
    assert set(predicted["layers"]) == {"1", "2", "4"}
    assert all(math.isfinite(v) for v in [predicted["endpoints"], predicted["midpoint"], *predicted["layers"].values()])


def _outcome(record, summary) -> dict:
    pairs = [{"setting": "digits", "seed": 1, "measured": 0.1 * i, "endpoints": 0.2 * i, "midpoint": -0.1 * i} for i in range(4)]
    layers = [{"setting": "digits", "seed": 1, "layer": name, "measured": 0.1 * i, "predicted": 0.1 * i}
              for i, name in enumerate(summary["test"]["layers"])]
    spearman = {key: {"rho": 1.0, "p_one_sided": 0.01, "n": 4} for key in ("network_endpoints", "network_midpoint", "per_layer_endpoints")}
    return {"nodeid": "claims/test_layerwise.py::test_b2[smoke]", "claim": "B2", "row": "digits", "title": "t", "section": "s",
            "tier": "smoke", "analogue": "", "expectation": "e", "status": "passed", "reason": "", "wall_seconds": 1.0,
            "settings": [{"label": "digits", "spec": SPEC.to_dict(), "seeds": [1], "hashes": [record["hash"]], "paper": {},
                          "paper_config": "", "paper_noise_scale": None,
                          "measured": {m: [record["metrics"][m], 0.0] for m in ("barrier", "delta", "noise_scale")},
                          "per_seed": {"delta": [record["metrics"]["delta"]]}}],
            "checks": [], "extra": {"layerwise": {"digits": [summary, summary]},
                                    "barrier_prediction": {"pairs": pairs, "layers": layers, "spearman": spearman}}}


def test_report_draws_heat_maps_curves_and_scatter(store, record, summary, tmp_path):
    outcome = _outcome(record, summary)
    assert [suffix for _, suffix, _ in claim_figures(outcome)] == ["layers0", "cumulative0", "prediction"]
    store.save_claim("b2", outcome)
    paths = build_report(store, tmp_path / "report")
    markdown = paths["md"].read_text()
    assert markdown.count("_layers0.png") == 1 and "_cumulative0.png" in markdown and "_prediction.png" in markdown
    assert '"midpoint_mixtures"' not in markdown  # drawn, not dumped as numbers
