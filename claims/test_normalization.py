"""C6 and Table VIII — Section IV-G: [0,1] normalisation breaks LMC of MLPs without BatchNorm;
BatchNorm restores it; ResNet10 and VGG11 are unaffected (CIFAR-10, 50/50, same noise)."""

import pytest

from lmc_bench.claims import ClaimRow, paper_setting, paper_spec
from lmc_bench.paper_tables import TABLE_VIII, verdict_of

C6_TITLE = "[0,1] normalisation breaks LMC in MLPs without BN; BN restores it; ResNet10 and VGG11 unaffected"

ROWS = [
    ClaimRow("C6", C6_TITLE, "IV-G, Table VIII", "full",
             (paper_setting(f"{r.model}, cifar10, lr {r.lr:g}, B={r.batch_size}, {label}",
                            paper_spec(r.model, "cifar10", r.lr, r.batch_size, normalization=normalization),
                            {"barrier": barrier, "delta": delta}),),
             f"{verdict_of(delta[0])} (paper Δ = {delta[0]} pp)")
    for r in TABLE_VIII
    for label, normalization, barrier, delta in (
        ("centered", "centered", r.barrier_centered, r.delta_centered),
        ("[0,1]", "unit", r.barrier_unit, r.delta_unit),
    )
]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
def test_table_viii_verdict(row, claim):
    claim.expect_verdict(claim.measure(row.settings[0]), row.expectation.split()[0])
