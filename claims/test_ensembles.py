"""C8 and Table III — Section IV-I: models from one basin make the same mistakes; different-seed
ensembles are more accurate. LMC ensemble = the 11 models Θ(λ) of one path (one per seed);
different-seed ensemble = the endpoints Θ_A (or Θ_B) of all seeds."""

import pytest

from lmc_bench.claims import ClaimRow, paper_setting, paper_spec, smoke_setting
from lmc_bench.data.prepare import prepare_data
from lmc_bench.ensembles import different_seed_ensembles, lmc_ensembles
from lmc_bench.paper_tables import TABLE_III

C8_TITLE = "LMC ensembles make the same mistakes: wrong agreement about twice that of different-seed ensembles"


def required_ratio(model: str) -> float:
    """WA(LMC) / WA(seeds) that a row must exceed: the paper's WA(LMC) less two of its standard
    deviations, over the paper's WA(seeds) (ResNet22 1.80, VGG11 1.70, MLP L1 1.30; the paper's own
    ratios are 1.88, 1.75 and 1.32, "about twice" for ResNet and VGG, weaker for the MLP)."""
    r = next(r for r in TABLE_III if r.model == model)
    return round((r.wa_lmc[0] - 2 * r.wa_lmc[1]) / r.wa_seeds, 2)


def table_iii_numbers(model: str) -> dict:
    """Table III's figures for ``model``: LMC ensembles as (mean, std), different-seed ensembles as one value."""
    r = next(r for r in TABLE_III if r.model == model)
    return {"wa_lmc": r.wa_lmc, "wa_seeds": (r.wa_seeds, 0.0), "wd_lmc": r.wd_lmc, "wd_seeds": (r.wd_seeds, 0.0),
            "vote_lmc": r.vote_lmc, "vote_seeds": (r.vote_seeds, 0.0), "average_lmc": r.average_lmc,
            "average_seeds": (r.average_seeds, 0.0)}


HEADLINE = ("wa_lmc", "wd_lmc")
"""The summary shows the LMC ensembles' wrong agreement and disagreement (Table III)."""

ROWS = [
    ClaimRow("C8", C8_TITLE, "IV-I, Table III", "full",
             (paper_setting("", paper_spec(r.model, "cifar10", r.lr, r.batch_size), table_iii_numbers(r.model)),),
             f"WA(LMC) / WA(seeds) > {required_ratio(r.model):g}; WD(LMC) < WD(seeds); "
             "different-seed ensembles more accurate by vote and by averaged prediction", headline=HEADLINE)
    for r in TABLE_III
]

SMOKE = ClaimRow(
    "C8", C8_TITLE, "IV-I", "smoke",
    (smoke_setting("", paper_spec("mlp_l1", "mnist_bundled", 1e-3, 32), ("cifar10", 1e-3, 32), table_iii_numbers("mlp_l1")),),
    ROWS[-1].expectation, headline=HEADLINE,
    analogue="MLP L1 on the bundled MNIST sample (N = 2,000 per subset) instead of CIFAR-10 (25,000), at the paper's "
             "lr 1e-3 and B=32")
SMOKE_FINDING = (
    "not reproduced at smoke scale: the LMC ensemble of MLP L1 on bundled MNIST has the lower wrong agreement "
    "(0.047 vs 0.056, ratio 0.84) and the higher accuracy (averaged 94.0 vs 93.5 %); the paper calls the MLP trend weak"
)


@pytest.mark.parametrize(
    "row", [*ROWS, pytest.param(SMOKE, marks=pytest.mark.xfail(reason=SMOKE_FINDING, raises=AssertionError, strict=True))], ids=lambda r: r.id
)
def test_c8_lmc_ensembles_share_mistakes(row, claim):
    setting = row.settings[0]
    measurement = claim.measure(setting)
    log_probs = [claim.context.store.load_tensors(spec)["path_log_probs"].float() for spec in claim.specs(setting)]
    labels = prepare_data(setting.spec.data, claim.context.data_root).test_y
    lmc, seeds = lmc_ensembles(log_probs, labels), different_seed_ensembles(log_probs, labels)
    claim.note("ensembles", {"lmc": lmc, "different_seeds": seeds})
    for metric in ("wa", "wd"):
        claim.record_measured(measurement, f"{metric}_lmc", *lmc[metric])
    ratio = lmc["wa"][0] / seeds["wa"] if seeds["wa"] > 0 else float("inf")
    needed = required_ratio(setting.spec.model)
    claim.check(f"WA(LMC) / WA(seeds) > {needed:g}", ratio > needed, f"WA LMC {lmc['wa'][0]:.3f}, seeds {seeds['wa']:.3f}, ratio {ratio:.2f}")
    claim.check("WD(LMC) < WD(seeds)", lmc["wd"][0] < seeds["wd"], f"{lmc['wd'][0]:.3f} vs {seeds['wd']:.3f}")
    for rule in ("vote_acc", "average_acc"):
        claim.check(f"different-seed ensemble more accurate ({rule})", seeds[rule] > lmc[rule][0], f"{seeds[rule]:.2f} vs {lmc[rule][0]:.2f} %")
