"""B4 — beyond the paper: the MNIST protocol of Table VI re-run on Fashion-MNIST (same IDX format,
70,000 images, a shift of domain the paper did not test). The asserted verdict is the paper's
MNIST verdict for the same model, learning rate and batch size, as the paper prints it (bold or not)."""

import pytest

from lmc_bench.claims import ClaimRow, analogue_setting, paper_spec
from lmc_bench.paper_tables import TABLE_VI, printed_verdict, verdict_text

B4_TITLE = "Fashion-MNIST follows the MNIST verdicts of Table VI"

ROWS = [
    ClaimRow("B4", B4_TITLE, "beyond the paper", "full",
             (analogue_setting("", paper_spec(r.model, "fashion_mnist", r.lr, batch), paper_spec(r.model, "mnist", r.lr, batch),
                               note=" (the paper's numbers are MNIST's)"),),
             verdict_text(printed_verdict("VI", r.model, "mnist", r.lr, batch, cell[1][0]), cell[1][0]) + " on MNIST",
             verdict=printed_verdict("VI", r.model, "mnist", r.lr, batch, cell[1][0]))
    for r in TABLE_VI if r.dataset == "mnist"
    for batch, cell in ((32, r.b32), (1024, r.b1024)) if cell is not None
]


L3_BN_SLOW_FINDING = (
    "not reproduced on Fashion-MNIST (docs/results/b4-fashion-mnist/, CPU, five seeds): MLP L3 with BN at lr 1e-3, "
    "B=32 stays stable, Δ -2.68 ± 0.87 pp and barrier 0.038 ± 0.013, where the paper's MNIST row is unstable "
    "(-16.29 ± 6.35 pp, barrier 0.39 ± 0.1); the other eight rows follow MNIST"
)
FINDINGS = {("mlp_l3_bn", 1e-3, 32): L3_BN_SLOW_FINDING}


def _param(row: ClaimRow):
    spec = row.settings[0].spec
    finding = FINDINGS.get((spec.model, spec.train.lr, spec.train.batch_size))
    return pytest.param(row, marks=pytest.mark.xfail(reason=finding, raises=AssertionError, strict=True)) if finding else row


@pytest.mark.parametrize("row", [_param(r) for r in ROWS], ids=lambda r: r.id)
def test_b4_fashion_mnist_follows_mnist(row, claim):
    claim.expect_verdict(claim.measure(row.settings[0]), row.verdict)
