"""Statistics against the paper's numbers, and the report's per-table views."""

import numpy as np
import pytest
from scipy import stats

from lmc_bench.paper_statistics import TOO_FEW_SEEDS, ensembles_versus_paper, versus_paper, welch_interval
from lmc_bench.paper_tables import TABLE_III
from lmc_bench.paper_table_views import html_sections, markdown_sections, table_views


def summary(values) -> tuple[float, float, int]:
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std(ddof=1)), len(values)


def test_welch_interval_equals_scipy_on_samples():
    """Without the rounding term, the interval is scipy's Welch interval of the two samples."""
    ours, paper = [2.1, 1.7, 3.0, 2.6, 0.9], [4.0, 0.5, 2.2, 3.9, 1.1]
    result = welch_interval(*summary(ours), *summary(paper)[:2], paper_n=5, resolution=0.0)
    reference = stats.ttest_ind(ours, paper, equal_var=False)
    assert result["df"] == pytest.approx(reference.df)
    assert result["ci"] == pytest.approx(list(reference.confidence_interval(0.95)))
    assert result["difference"] == pytest.approx(np.mean(ours) - np.mean(paper))


def test_zero_paper_std_is_a_one_sample_interval_on_ours():
    ours = [-0.2, -0.5, -0.1, -0.4, -0.3]
    result = welch_interval(*summary(ours), paper_mean=0.02, paper_std=0.0, resolution=0.0)
    reference = stats.ttest_1samp(ours, popmean=0.02).confidence_interval(0.95)
    assert result["df"] == pytest.approx(4)
    assert result["ci"] == pytest.approx([reference.low - 0.02, reference.high - 0.02])
    assert result["label"] == "ours lower"


def test_labels_and_the_paper_rounding():
    assert welch_interval(2.3, 0.4, 5, 2.35, 1.97)["label"] == "consistent"
    assert welch_interval(-2.0, 0.5, 5, -17.82, 7.91)["label"] == "ours higher"
    assert welch_interval(-80.0, 2.0, 5, -16.29, 6.35)["label"] == "ours lower"
    # a paper "0.0 ± 0.0" is 0 to two decimals: 0.002 ± 0.001 agrees with it, 0.02 ± 0.001 does not
    assert welch_interval(0.002, 0.001, 5, 0.0, 0.0)["label"] == "consistent"
    assert welch_interval(0.02, 0.001, 5, 0.0, 0.0)["label"] == "ours higher"
    both_zero = welch_interval(0.0, 0.0, 5, 0.0, 0.0)
    assert both_zero["ci"] == pytest.approx([-0.005, 0.005]) and both_zero["df"] is None
    single = welch_interval(0.3, 0.0, 1, 0.3, 0.14)
    assert single["ci"] is None and single["label"] == TOO_FEW_SEEDS


def test_versus_paper_takes_metrics_with_a_paper_std_that_we_measured():
    paper = {"barrier": [0.3, 0.14], "delta": [-6.95, 2.26], "train_a_delta": [-80.0, None], "wa_lmc": [0.2, 0.01]}
    measured = {"barrier": [0.31, 0.1], "delta": [-7.0, 2.0], "train_a_delta": [-70.0, 5.0]}
    result = versus_paper(paper, measured, 5)
    assert set(result) == {"barrier", "delta"}
    assert result["delta"]["ours"] == [-7.0, 2.0] and result["delta"]["n"] == 5


def b4_outcome(delta_values) -> dict:
    spec = {"model": "mlp_l3", "data": {"dataset": "fashion_mnist", "normalization": "centered", "shift": "covariate"},
            "train": {"lr": 0.001, "batch_size": 32, "noise": "same"}}
    measured = {"barrier": [0.5, 0.2], "delta": [float(np.mean(delta_values)), float(np.std(delta_values, ddof=1))]}
    paper = {"barrier": [2.35, 1.97], "delta": [-17.82, 7.91]}
    setting = {"spec": spec, "paper": paper, "measured": measured, "versus_paper": versus_paper(paper, measured, len(delta_values))}
    return {"claim": "B4", "analogue": "", "settings": [setting], "extra": {}}


def test_views_show_measured_tables_only_with_labels():
    outcomes = [b4_outcome([-1.0, -2.0, -1.5, -0.5, -1.2])]
    views = {view.title.split(":")[0]: view for view in table_views(outcomes)}
    assert views["B4"].measured() and not views["Table VI"].measured()
    assert [row[:3] for row in views["B4"].rows][3] == ["mlp_l3", "fashion_mnist", "0.001"]
    markdown = "\n\n".join(markdown_sections(outcomes))
    assert "### B4" in markdown and "### Table VI" not in markdown
    assert "2.35 ± 1.97 → 0.50 ± 0.20 🟢 -1.85 [-4.29, +0.59]" in markdown
    assert "-17.82 ± 7.91 → -1.24 ± 0.56 🔺 +16.58" in markdown and "0.39 ± 0.10 → –" in markdown
    page = "".join(html_sections(outcomes))
    assert "background:#fbdcc0" in page and "background:#d7f0d7" in page and "<h3>B4" in page
    assert markdown_sections([]) == [] and html_sections([{"settings": [], "extra": {}}]) == []


def test_table_iii_view_compares_lmc_ensembles_and_shows_seed_ensembles():
    r = TABLE_III[-1]  # MLP L1, CIFAR-10, lr 1e-3, B=32
    paper = {"wa_lmc": r.wa_lmc, "wa_seeds": (r.wa_seeds, 0.0), "wd_lmc": r.wd_lmc, "vote_lmc": r.vote_lmc,
             "average_lmc": r.average_lmc}
    lmc = {"wa": [0.30, 0.004], "wd": [0.165, 0.002], "vote_acc": [50.2, 0.5], "average_acc": [52.4, 0.4]}
    compared = ensembles_versus_paper(paper, lmc, 5)
    assert set(compared) == {"wa_lmc", "wd_lmc", "vote_lmc", "average_lmc"}
    assert compared["wa_lmc"]["label"] == "ours higher" and compared["wd_lmc"]["label"] == "consistent"
    spec = {"model": "mlp_l1", "data": {"dataset": "cifar10", "normalization": "centered", "shift": "covariate"},
            "train": {"lr": 0.001, "batch_size": 32, "noise": "same"}}
    outcome = {"claim": "C8", "analogue": "", "settings": [{"spec": spec}],
               "extra": {"ensembles": {"lmc": lmc, "different_seeds": {"wa": 0.2, "wd": 0.21, "vote_acc": 52.0, "average_acc": 53.9},
                                       "versus_paper": compared}}}
    markdown = "\n\n".join(markdown_sections([outcome]))
    assert "### Table III" in markdown and "0.245 ± 0.002 → 0.300 ± 0.004 🔺" in markdown and "| 0.185 → 0.200 |" in markdown
