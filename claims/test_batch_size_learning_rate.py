"""C3 and Table VI — Section IV-D, Fig. 7: larger batches and smaller learning rates recover LMC.

Full tier: every cell of Table VI, and the ResNet10/22 MNIST grid of Fig. 7 over B and lr.
Smoke tier: the same directions for MLP L3 (the paper: "this trend is observed for wide, deep MLPs")
on the bundled MNIST sample.
"""

import pytest

from lmc_bench.claims import ClaimRow, Trend, format_lr, paper_setting, paper_spec, smoke_setting
from lmc_bench.paper_tables import TABLE_VI, printed_verdict, verdict_text

TABLE_VI_ROWS = [
    ClaimRow("C3", "Table VI: barrier and Δ per model, learning rate and batch size", "IV-D, Table VI", "full",
             (paper_setting("", paper_spec(r.model, r.dataset, r.lr, batch, noise=r.noise, normalization=r.normalization)),),
             verdict_text(printed_verdict("VI", r.model, r.dataset, r.lr, batch, cell[1][0], r.normalization), cell[1][0]),
             verdict=printed_verdict("VI", r.model, r.dataset, r.lr, batch, cell[1][0], r.normalization))
    for r in TABLE_VI
    for batch, cell in ((32, r.b32), (1024, r.b1024))
    if cell is not None
]


@pytest.mark.parametrize("row", TABLE_VI_ROWS, ids=lambda r: r.id)
def test_table_vi_verdict(row, claim):
    claim.expect_verdict(claim.measure(row.settings[0]), row.verdict)


GRID_BATCHES = (32, 256, 1024)
GRID_LRS = (1e-3, 1e-4)


def _grid_setting(model: str, lr: float, batch: int):
    return paper_setting("", paper_spec(model, "mnist", lr, batch))


BARRIER_FALLS = (Trend("barrier", "lower"),)


C3_TITLE = "Larger batch or smaller learning rate recovers LMC; deeper ResNets are less stable"
C3_FULL = [
    *(ClaimRow("C3", C3_TITLE, "IV-D, Fig. 7", "full", tuple(_grid_setting(model, lr, b) for b in GRID_BATCHES),
               f"mean barrier at B={GRID_BATCHES[-1]} below that at B={GRID_BATCHES[0]} (lr {format_lr(lr)})", trends=BARRIER_FALLS)
      for model in ("resnet10", "resnet22") for lr in GRID_LRS),
    *(ClaimRow("C3", C3_TITLE, "IV-D, Fig. 7", "full", tuple(_grid_setting(model, lr, b) for lr in GRID_LRS),
               f"mean barrier at lr {format_lr(GRID_LRS[-1])} below that at lr {format_lr(GRID_LRS[0])} (B={b})", trends=BARRIER_FALLS)
      for model in ("resnet10", "resnet22") for b in GRID_BATCHES),
    ClaimRow("C3", C3_TITLE, "IV-D, Fig. 7", "full",
             tuple(_grid_setting(model, 1e-3, 1024) for model in ("resnet10", "resnet22")),
             "mean barrier of ResNet22 above that of ResNet10 (lr 1e-3, B=1024; paper 2.33 vs 0.04)",
             trends=(Trend("barrier", "higher"),)),
]

SMOKE_L3 = "mlp_l3"


def _smoke_l3(lr: float, batch: int, paper_lr: float, paper_batch: int):
    return smoke_setting("", paper_spec(SMOKE_L3, "mnist_bundled", lr, batch), ("mnist", paper_lr, paper_batch))


C3_SMOKE_LR = ClaimRow(
    "C3", C3_TITLE, "IV-D", "smoke", (_smoke_l3(1.5e-2, 32, 1e-3, 32), _smoke_l3(1e-3, 32, 1e-4, 32)),
    "barrier falls as lr falls at B=32, on every seed", trends=(Trend("barrier", "lower", every_seed=True),),
    analogue="N = 2,000 per subset instead of 29,997; at B=32, lr 1.5e-2 stands for the paper's lr 1e-3 and lr 1e-3 "
             "for its lr 1e-4")
C3_SMOKE_BATCH = ClaimRow(
    "C3", C3_TITLE, "IV-D", "smoke", (_smoke_l3(1.5e-2, 32, 1e-3, 32), _smoke_l3(1.5e-2, 256, 1e-3, 1024)),
    "at fixed lr 1.5e-2 the larger batch recovers LMC: mean barrier falls from B=32 to B=256 and B=256 is stable on every seed",
    trends=(Trend("barrier", "lower"),), verdict="stable",
    analogue="N = 2,000 per subset instead of 29,997; at lr 1.5e-2, B=256 (8 steps per epoch) stands for the "
             "paper's B=1024 (the paper's g would take B ≈ 690, three steps per epoch)")
SMOKE_BATCH_FINDING = (
    "not reproduced at smoke scale: at lr 1.5e-2, B=256 stays unstable on every seed (Δ -41 to -68 pp) and the "
    "mean barrier rises instead of falling (1.27 at B=32, 1.43 at B=256); the no-shift controls of both are flat"
)


@pytest.mark.parametrize("row", [*C3_FULL, C3_SMOKE_LR], ids=lambda r: r.id)
def test_c3_barrier_falls(row, claim):
    measurements = [claim.measure(s) for s in row.settings]
    for trend in row.trends:
        claim.expect_trend(trend, measurements[0], measurements[-1])


@pytest.mark.parametrize(
    "row", [pytest.param(C3_SMOKE_BATCH, marks=pytest.mark.xfail(reason=SMOKE_BATCH_FINDING, raises=AssertionError, strict=True))], ids=lambda r: r.id
)
def test_c3_larger_batch_recovers_lmc(row, claim):
    small, large = (claim.measure(s) for s in row.settings)
    for trend in row.trends:
        claim.expect_trend(trend, small, large)
    claim.expect_verdict(large, row.verdict)
