"""C4 and Table VII — Section IV-E: a 20/80 label imbalance breaks ResNet and VGG19 stability at
B=1024, while VGG11 stays stable. The imbalanced split always has different SGD noise (Appendix B)."""

import pytest

from lmc_bench.claims import ClaimRow, paper_setting, paper_spec, smoke_setting
from lmc_bench.paper_tables import TABLE_VII, printed_verdict, verdict_text

C4_TITLE = "Label imbalance (20/80) breaks ResNet and VGG19 stability at B=1024; VGG11 stays stable"

ROWS = [
    ClaimRow("C4", C4_TITLE, "IV-E, Table VII", "full",
             (paper_setting(f"{r.model}, {r.dataset}, lr {r.lr:g}, B=1024, {split}" + (", different noise" if noise == "different" else ""),
                            paper_spec(r.model, r.dataset, r.lr, 1024, shift=shift, noise=noise),
                            {"barrier": barrier, "delta": delta}),),
             verdict_text(printed_verdict("VII", r.model, r.dataset, r.lr, 1024, delta[0]), delta[0]))
    for r in TABLE_VII
    for split, shift, noise, barrier, delta in (
        ("50/50", "covariate", r.noise_5050, r.barrier_5050, r.delta_5050),
        ("20/80", "label_imbalance", "different", r.barrier_2080, r.delta_2080),
    )
]

SMOKE = ClaimRow(
    "C4", C4_TITLE, "IV-E", "smoke",
    (smoke_setting("mlp_l1, bundled MNIST, lr 1e-3, B=64, 20/80, different noise",
                   paper_spec("mlp_l1", "mnist_bundled", 1e-3, 64, shift="label_imbalance", noise="different"),
                   ("mnist", 1e-3, 1024)),),
    "stable on every seed (the paper: MLPs stay stable under label imbalance)",
    analogue="N ≈ 2,000 per subset; B=64 at lr 1e-3 matches the paper's g at B=1024")


@pytest.mark.parametrize("row", [*ROWS, SMOKE], ids=lambda r: f"{r.tier}-{r.id}")
def test_table_vii_verdict(row, claim):
    claim.expect_verdict(claim.measure(row.settings[0]), row.expectation.split()[0])
