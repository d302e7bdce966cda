"""C6 and Table VIII — Section IV-G: [0,1] normalisation breaks LMC of MLPs without BatchNorm;
BatchNorm restores it; ResNet10 and VGG11 are unaffected (CIFAR-10, 50/50, same noise)."""

import pytest

from lmc_bench.claims import ClaimRow, Trend, paper_setting, paper_spec, smoke_setting
from lmc_bench.paper_tables import TABLE_VIII, printed_verdict, verdict_text

C6_TITLE = "[0,1] normalisation breaks LMC in MLPs without BN; BN restores it; ResNet10 and VGG11 unaffected"

ROWS = [
    ClaimRow("C6", C6_TITLE, "IV-G, Table VIII", "full",
             (paper_setting("", paper_spec(r.model, "cifar10", r.lr, r.batch_size, normalization=normalization)),),
             verdict_text(printed_verdict("VIII", r.model, "cifar10", r.lr, r.batch_size, delta[0], normalization), delta[0]),
             verdict=printed_verdict("VIII", r.model, "cifar10", r.lr, r.batch_size, delta[0], normalization))
    for r in TABLE_VIII
    for normalization, delta in (("centered", r.delta_centered), ("unit", r.delta_unit))
]

PAPER_ROW = {(r.model, r.batch_size): r for r in TABLE_VIII}
SMOKE_BATCH = 64


def _smoke(model: str, lr: float, normalization: str):
    """MLP on the bundled MNIST sample at B=64, standing for the paper's CIFAR-10 row at B=1024."""
    paper = PAPER_ROW[(model, 1024)]
    return smoke_setting("", paper_spec(model, "mnist_bundled", lr, SMOKE_BATCH, normalization=normalization),
                         ("cifar10", paper.lr, paper.batch_size))


SCAN = ("a scan of MLP L1 and L3, with and without BN, centred and [0,1], lr 1e-3, 3e-3, 1e-2, 3e-2 at B=64 "
        "(five seeds each)")

SMOKE_NORMALISATION = ClaimRow(
    "C6", C6_TITLE, "IV-G", "smoke", (_smoke("mlp_l1", 1e-3, "centered"), _smoke("mlp_l1", 1e-3, "unit")),
    "one factor, the normalisation: MLP L1 stable on every seed with centred inputs, unstable on every seed on [0,1], "
    "with Δ lower on every seed", baseline_verdict="stable", trends=(Trend("delta", "lower", every_seed=True),),
    verdict="unstable",
    analogue="bundled MNIST instead of CIFAR-10, N = 2,000 per subset instead of 25,000; at lr 1e-3, B=64 has about "
             "the paper's noise scale g (0.030 against 0.023)")
NORMALISATION_FINDING = (
    "not reproduced at smoke scale: on MNIST, [0,1] inputs do not make MLP L1 unstable; at lr 1e-3, B=64 both "
    "normalisations are stable on every seed (centred Δ 0.0 to +0.75 pp, [0,1] +0.4 to +0.85; paper, CIFAR-10: -15.69 pp). "
    f"In {SCAN}, [0,1] inputs are stable wherever centred inputs are, for MLP L1 and L3 without BN"
)

BN_LR = 1e-2
BN_ANALOGUE = ("bundled MNIST instead of CIFAR-10, N = 2,000 per subset instead of 25,000, MLP L3 at lr 1e-2, B=64 "
               "(g 0.30, 13 times the paper's): the lowest learning rate of the scan at which MLP L3 without BN on [0,1] "
               "inputs is unstable on every seed. On MNIST this instability is the learning rate's, not the "
               "normalisation's (centred inputs lose more: Δ -13.8 to -42.1 pp), so the row tests the remedy alone")
SMOKE_BN_HELPS = ClaimRow(
    "C6", C6_TITLE, "IV-G", "smoke", (_smoke("mlp_l3", BN_LR, "unit"), _smoke("mlp_l3_bn", BN_LR, "unit")),
    "one factor, BatchNorm: on [0,1] inputs MLP L3 without BN is unstable on every seed; with BN the barrier is lower "
    "and Δ higher on every seed", baseline_verdict="unstable",
    trends=(Trend("barrier", "lower", every_seed=True), Trend("delta", "higher", every_seed=True)),
    analogue=BN_ANALOGUE)
SMOKE_BN_RESTORES = ClaimRow(
    "C6", C6_TITLE, "IV-G", "smoke", SMOKE_BN_HELPS.settings[-1:],
    "MLP L3 with BN on [0,1] inputs stable on every seed (without BN: unstable on every seed, the row above)",
    verdict="stable", analogue=BN_ANALOGUE)
BN_RESTORES_FINDING = (
    "partly reproduced at smoke scale: BatchNorm lowers the barrier (0.48-0.59 to 0.09-0.16) and the accuracy drop "
    "(Δ -7.6 to -11.7 pp to -2.2 to -6.8) on every seed, but one seed of five stays below -5 pp (seed 500: -6.75)"
)


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
def test_table_viii_verdict(row, claim):
    claim.expect_verdict(claim.measure(row.settings[0]), row.verdict)


@pytest.mark.parametrize(
    "row",
    [SMOKE_BN_HELPS,
     pytest.param(SMOKE_NORMALISATION, marks=pytest.mark.xfail(reason=NORMALISATION_FINDING, raises=AssertionError, strict=True)),
     pytest.param(SMOKE_BN_RESTORES, marks=pytest.mark.xfail(reason=BN_RESTORES_FINDING, raises=AssertionError, strict=True))],
    ids=lambda r: r.id,
)
def test_c6_one_factor_at_a_time(row, claim):
    claim.expect_row([claim.measure(s) for s in row.settings])
