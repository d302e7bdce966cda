"""C4 and Table VII — Section IV-E: a 20/80 label imbalance breaks ResNet and VGG19 stability at
B=1024, while VGG11 stays stable. The imbalanced split always has different SGD noise (Appendix B)."""

import pytest

from lmc_bench.claims import ClaimRow, paper_setting, paper_spec, smoke_setting
from lmc_bench.paper_tables import TABLE_VII, printed_verdict, verdict_text

C4_TITLE = "Label imbalance (20/80) breaks ResNet and VGG19 stability at B=1024; VGG11 stays stable"

ROWS = [
    ClaimRow("C4", C4_TITLE, "IV-E, Table VII", "full",
             (paper_setting("", paper_spec(r.model, r.dataset, r.lr, 1024, shift=shift, noise=noise)),),
             verdict_text(printed_verdict("VII", r.model, r.dataset, r.lr, 1024, delta[0]), delta[0]),
             verdict=printed_verdict("VII", r.model, r.dataset, r.lr, 1024, delta[0]))
    for r in TABLE_VII
    for shift, noise, delta in (("covariate", r.noise_5050, r.delta_5050), ("label_imbalance", "different", r.delta_2080))
]

SMOKE = ClaimRow(
    "C4", C4_TITLE, "IV-E", "smoke",
    (smoke_setting("", paper_spec("mlp_l1", "mnist_bundled", 1e-3, 64, shift="label_imbalance", noise="different"),
                   ("mnist", 1e-3, 1024)),),
    "stable on every seed (the paper: MLPs stay stable under label imbalance)", verdict="stable",
    analogue="N ≈ 2,000 per subset instead of about 30,000; at lr 1e-3, B=64 stands for the paper's B=1024")


@pytest.mark.parametrize("row", [*ROWS, SMOKE], ids=lambda r: r.id)
def test_table_vii_verdict(row, claim):
    claim.expect_verdict(claim.measure(row.settings[0]), row.verdict)
