"""C4 and Table VII — Section IV-E: a 20/80 label imbalance breaks ResNet and VGG19 stability at
B=1024, while VGG11 stays stable. The imbalanced split always has different SGD noise (Appendix B)."""

import pytest

from lmc_bench.claims import ClaimRow, paper_setting, paper_spec, smoke_setting
from lmc_bench.paper_tables import TABLE_VII, printed_verdict, verdict_text

C4_TITLE = "Label imbalance (20/80) breaks ResNet and VGG19 stability at B=1024; VGG11 and MLPs stay stable"

ROWS = [
    ClaimRow("C4", C4_TITLE, "IV-E, Table VII", "full",
             (paper_setting("", paper_spec(r.model, r.dataset, r.lr, 1024, shift=shift, noise=noise)),),
             verdict_text(printed_verdict("VII", r.model, r.dataset, r.lr, 1024, delta[0]), delta[0]),
             verdict=printed_verdict("VII", r.model, r.dataset, r.lr, 1024, delta[0]))
    for r in TABLE_VII
    for shift, noise, delta in (("covariate", r.noise_5050, r.delta_5050), ("label_imbalance", "different", r.delta_2080))
]

SMOKE_LR, SMOKE_BATCH = 3e-3, 64


def _smoke(model: str, shift: str):
    return smoke_setting("", paper_spec(model, "mnist_bundled", SMOKE_LR, SMOKE_BATCH, shift=shift, noise="different"),
                         ("mnist", 1e-3, 1024))


def _smoke_row(model: str) -> ClaimRow:
    return ClaimRow(
        "C4", C4_TITLE, "IV-E, App. F", "smoke", (_smoke(model, "covariate"), _smoke(model, "label_imbalance")),
        "one factor, the split: under different SGD noise the balanced 50/50 split is stable on every seed, and so is "
        "the 20/80 split (the paper, Appendix F: MLPs stay stable under label imbalance)",
        baseline_verdict="stable", verdict="stable",
        analogue="N = 2,000 per subset instead of about 30,000; lr 3e-3, B=64: the largest learning rate of a scan "
                 "(lr 1e-3, 3e-3, 1e-2, 3e-2 at B=64, five seeds) at which the balanced split of MLP L1 and of MLP L3 "
                 "is stable on every seed; at lr 1e-2 it is unstable on 3 of 5 seeds (L1) and on all 5 (L3)")


SMOKE_L3_FINDING = (
    "not reproduced at smoke scale: at lr 3e-3, B=64 the 20/80 split of MLP L3 is unstable on one seed of five "
    "(seed 1500: Δ -5.4 pp against -3.6 on the balanced split) and its barrier is higher on every seed "
    "(0.15-0.26 against 0.02-0.10); MLP L1 stays stable on every seed"
)


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
def test_table_vii_verdict(row, claim):
    claim.expect_verdict(claim.measure(row.settings[0]), row.verdict)


@pytest.mark.parametrize(
    "row",
    [_smoke_row("mlp_l1"),
     pytest.param(_smoke_row("mlp_l3"), marks=pytest.mark.xfail(reason=SMOKE_L3_FINDING, raises=AssertionError, strict=True))],
    ids=lambda r: r.id,
)
def test_mlp_stable_under_label_imbalance(row, claim):
    claim.expect_row([claim.measure(s) for s in row.settings])
