"""C1, C2, C2b — Sections IV-B and IV-C: covariate shift alone, at batch 32, under the same SGD noise.

C1's smoke analogues keep the paper's noise scale g = ε(N/B − 1): with N = 2,000 images per subset
instead of 29,997, B = 32 needs lr 1.5e-2 for the g of the paper's lr 1e-3 (0.92 against 0.94).
"""

import pytest

from lmc_bench.claims import Bound, ClaimRow, Trend, format_lr, paper_setting, paper_spec, smoke_setting
from lmc_bench.paper_tables import TABLE_VI, printed_verdict, verdict_of, verdict_text

SMOKE_LR = 1.5e-2
SCALED = f"N = 2,000 per subset instead of 29,997; at B=32 the learning rate is raised to {format_lr(SMOKE_LR)} for the paper's 1e-3"

C1_TITLE = "Covariate shift alone makes deep models unstable at small batch; one-hidden-layer MLPs stay stable"
C1_FULL = [
    ClaimRow("C1", C1_TITLE, "IV-B, Fig. 4", "full",
             (paper_setting("", paper_spec(r.model, r.dataset, r.lr, 32)),),
             verdict_text(printed_verdict("VI", r.model, r.dataset, r.lr, 32, r.b32[1][0]), r.b32[1][0]),
             verdict=printed_verdict("VI", r.model, r.dataset, r.lr, 32, r.b32[1][0]))
    for r in TABLE_VI
    if r.b32 is not None and r.model in ("mlp_l1", "mlp_l3", "vgg11") and r.noise == "same"
]


def _smoke(model: str, paper_row) -> ClaimRow:
    expected = verdict_of(paper_row.b32[1][0])
    return ClaimRow("C1", C1_TITLE, "IV-B, Fig. 4", "smoke",
                    (smoke_setting("", paper_spec(model, "mnist_bundled", SMOKE_LR, 32), ("mnist", paper_row.lr, 32)),),
                    f"{expected} on every seed", verdict=expected, analogue=SCALED)


MNIST_ROW = {r.model: r for r in TABLE_VI if r.dataset == "mnist" and r.lr == 1e-3}
C1_SMOKE_L1 = _smoke("mlp_l1", MNIST_ROW["mlp_l1"])
C1_SMOKE_L3 = _smoke("mlp_l3", MNIST_ROW["mlp_l3"])
C1_DEPTH = ClaimRow("C1", C1_TITLE, "IV-B, Fig. 4", "smoke", C1_SMOKE_L1.settings + C1_SMOKE_L3.settings,
                    "on every seed the one-hidden-layer MLP loses less accuracy along the path than the deep MLP",
                    trends=(Trend("delta", "lower", every_seed=True),), analogue=SCALED)

SMOKE_L1_FINDING = (
    "not reproduced at smoke scale: at the matched noise scale MLP L1 on 2,000 images per subset drops 7-13 pp "
    "along the path on every seed (mean -9.5 pp, barrier 0.03-0.21; its no-shift control is flat; paper, full MNIST: -0.34 pp)"
)


@pytest.mark.parametrize(
    "row",
    [*C1_FULL, C1_SMOKE_L3, pytest.param(C1_SMOKE_L1, marks=pytest.mark.xfail(reason=SMOKE_L1_FINDING, raises=AssertionError, strict=True))],
    ids=lambda r: r.id,
)
def test_c1_stability_at_batch_32(row, claim):
    claim.expect_verdict(claim.measure(row.settings[0]), row.verdict)


@pytest.mark.parametrize("row", [C1_DEPTH], ids=lambda r: r.id)
def test_c1_deeper_mlp_less_stable(row, claim):
    shallow, deep = (claim.measure(s) for s in row.settings)
    for trend in row.trends:
        claim.expect_trend(trend, shallow, deep)


CIFAR_L3 = {(r.model, r.lr): r for r in TABLE_VI if r.dataset == "cifar10" and r.model.startswith("mlp_l3")}
_BN_BARRIER = CIFAR_L3[("mlp_l3_bn", 1e-3)].b32[0]
C2_BARRIER = round(_BN_BARRIER[0] - 2 * _BN_BARRIER[1], 2)
"""0.41: the lowest barrier the paper's BN row (0.61 ± 0.1) allows at two standard deviations; the
row without BN (0.0 ± 0.0) stays below it, the row with BN above."""
C2B_DROP = round(-80.0 + 2 * CIFAR_L3[("mlp_l3", 1e-3)].b32[1][1], 2)
"""−73.36 pp: the paper gives "about −80 pp" without a spread; we borrow the spread of the same
model's accuracy drop in Table VI (MLP L3, CIFAR-10, B=32: ± 3.32) and allow two of it."""

C2_ROWS = [
    ClaimRow("C2", "Overfitting: MLP L3 on CIFAR-10 shows no barrier yet a large accuracy drop; with BN a barrier",
             "IV-C, Fig. 5", "full",
             (paper_setting("", paper_spec(model, "cifar10", 1e-3, 32)),),
             expectation, bounds=bounds)
    for model, expectation, bounds in (
        ("mlp_l3", f"barrier < {C2_BARRIER:g} and Δ < −5 pp (mean over seeds)",
         (Bound("barrier", "<", C2_BARRIER), Bound("delta", "<", -5.0))),
        ("mlp_l3_bn", f"barrier ≥ {C2_BARRIER:g} and Δ < −5 pp (mean over seeds)",
         (Bound("barrier", ">=", C2_BARRIER), Bound("delta", "<", -5.0))),
    )
]


@pytest.mark.parametrize("row", C2_ROWS, ids=lambda r: r.id)
def test_c2_overfitting_hides_the_barrier(row, claim):
    m = claim.measure(row.settings[0])
    for bound in row.bounds:
        claim.expect_bound(bound, m)
    claim.note("train_vs_test_accuracy_gap_pp", [r["history"]["a"]["train_acc"][-1] - r["history"]["a"]["test_acc"][-1] for r in m.records])


C2B_ROW = ClaimRow(
    "C2b", "Different inits on one subset: a training-data barrier with a large training-accuracy drop", "IV-C, Fig. 6",
    "full",
    (paper_setting("", paper_spec("mlp_l3", "cifar10", 1e-3, 32, shift="none", noise="different", on_train=True)
                   .replace(**{"train.init": "independent"}), {"train_a_delta": (-80.0, None)}),),
    f"training-accuracy drop along the path below {C2B_DROP:g} pp (paper: about −80 pp) and a barrier on the training data",
    bounds=(Bound("train_a_barrier", ">", 0.0), Bound("train_a_delta", "<", C2B_DROP)), headline=("train_a_barrier", "train_a_delta"))


C2B_SMOKE = ClaimRow(
    "C2b", C2B_ROW.title, C2B_ROW.section, "smoke",
    (smoke_setting("", paper_spec("mlp_l3", "mnist_bundled", 1e-3, 32, shift="none", noise="different", on_train=True)
                   .replace(**{"train.init": "independent"}), ("cifar10", 1e-3, 32), {"train_a_delta": (-80.0, None)}),),
    C2B_ROW.expectation, bounds=C2B_ROW.bounds, headline=C2B_ROW.headline,
    analogue="bundled MNIST instead of CIFAR-10, N = 2,000 (one subset), the paper's lr 1e-3 and B = 32")
C2B_SMOKE_FINDING = (
    "not reproduced at smoke scale: on bundled MNIST two independently initialised MLP L3 trained on one subset "
    "show a training-data loss barrier on every seed (1.0-1.4) but lose only 4-6 pp training accuracy "
    "along the path (paper, CIFAR-10: about -80 pp)"
)


@pytest.mark.parametrize(
    "row", [C2B_ROW, pytest.param(C2B_SMOKE, marks=pytest.mark.xfail(reason=C2B_SMOKE_FINDING, raises=AssertionError, strict=True))],
    ids=lambda r: r.id,
)
def test_c2b_different_inits_disagree_on_training_data(row, claim):
    m = claim.measure(row.settings[0])
    for bound in row.bounds:
        claim.expect_bound(bound, m)
