"""C6 and Table VIII — Section IV-G: [0,1] normalisation breaks LMC of MLPs without BatchNorm;
BatchNorm restores it; ResNet10 and VGG11 are unaffected (CIFAR-10, 50/50, same noise)."""

import pytest

from lmc_bench.claims import ClaimRow, paper_setting, paper_spec, smoke_setting
from lmc_bench.paper_tables import TABLE_VIII, printed_verdict, verdict_of, verdict_text

C6_TITLE = "[0,1] normalisation breaks LMC in MLPs without BN; BN restores it; ResNet10 and VGG11 unaffected"

ROWS = [
    ClaimRow("C6", C6_TITLE, "IV-G, Table VIII", "full",
             (paper_setting("", paper_spec(r.model, "cifar10", r.lr, r.batch_size, normalization=normalization)),),
             verdict_text(printed_verdict("VIII", r.model, "cifar10", r.lr, r.batch_size, delta[0], normalization), delta[0]),
             verdict=printed_verdict("VIII", r.model, "cifar10", r.lr, r.batch_size, delta[0], normalization))
    for r in TABLE_VIII
    for normalization, delta in (("centered", r.delta_centered), ("unit", r.delta_unit))
]

SMOKE_ANALOGUE = ("bundled MNIST instead of CIFAR-10, N = 2,000 per subset instead of 25,000; at lr 1e-3, B=64 stands "
                  "for the paper's B=1024")
PAPER_ROW = {(r.model, r.batch_size): r for r in TABLE_VIII}


def _smoke(model: str) -> ClaimRow:
    r = PAPER_ROW[(model, 1024)]
    return ClaimRow("C6", C6_TITLE, "IV-G", "smoke",
                    (smoke_setting("", paper_spec(model, "mnist_bundled", 1e-3, 64, normalization="unit"),
                                   ("cifar10", r.lr, r.batch_size)),),
                    f"{verdict_of(r.delta_unit[0])} on every seed", verdict=verdict_of(r.delta_unit[0]), analogue=SMOKE_ANALOGUE)


SMOKE_FINDING = (
    "not reproduced at smoke scale: on MNIST, MLP L1 without BN trained on [0,1] inputs stays stable on every seed "
    "(Δ +0.4 to +0.9 pp; paper, CIFAR-10: -15.69 pp)"
)


@pytest.mark.parametrize(
    "row",
    [*ROWS, _smoke("mlp_l1_bn"), pytest.param(_smoke("mlp_l1"), marks=pytest.mark.xfail(reason=SMOKE_FINDING, raises=AssertionError, strict=True))],
    ids=lambda r: r.id,
)
def test_table_viii_verdict(row, claim):
    claim.expect_verdict(claim.measure(row.settings[0]), row.verdict)
