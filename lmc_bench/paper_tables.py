"""The paper's reported numbers (mean, std over five seeds), transcribed from its tables.

Model names follow :mod:`lmc_bench.models`; ``None`` marks a cell the paper leaves empty.
"""

from __future__ import annotations

from typing import NamedTuple

from .config import RunSpec, TrainSpec

Cell = tuple[float, float]


class TableVIRow(NamedTuple):
    """Table VI: barrier / Δ (%) at B=32 and B=1024; 50/50 split, same SGD noise unless ``noise``."""

    model: str
    dataset: str
    lr: float
    b32: tuple[Cell, Cell] | None
    b1024: tuple[Cell, Cell] | None
    normalization: str = "centered"
    noise: str = "same"


TABLE_VI = (
    TableVIRow("mlp_l1_bn", "mnist", 1e-2, ((0.3, 0.14), (-6.95, 2.26)), ((0.01, 0.01), (-0.57, 0.29))),
    TableVIRow("mlp_l1", "mnist", 1e-3, ((0.0, 0.0), (-0.34, 0.12)), ((0.0, 0.0), (0.02, 0.07))),
    TableVIRow("mlp_l3_bn", "mnist", 1e-2, ((2.22, 0.1), (-78.93, 5.88)), ((0.17, 0.15), (-5.06, 3.68))),
    TableVIRow("mlp_l3", "mnist", 1e-3, ((2.35, 1.97), (-17.82, 7.91)), ((0.02, 0.02), (-0.4, 0.42))),
    TableVIRow("mlp_l3_bn", "mnist", 1e-3, ((0.39, 0.1), (-16.29, 6.35)), None),
    TableVIRow("mlp_l1_bn", "cifar10", 1e-2, ((0.32, 0.1), (-16.17, 2.15)), ((0.19, 0.04), (-2.77, 0.79))),
    TableVIRow("mlp_l1", "cifar10", 1e-3, ((0.0, 0.0), (-3.54, 0.98)), ((0.08, 0.02), (0.98, 0.39))),
    TableVIRow("mlp_l1_bn", "cifar10", 1e-3, ((0.06, 0.02), (-3.19, 0.72)), ((0.0, 0.0), (2.46, 0.54))),
    TableVIRow("mlp_l3_bn", "cifar10", 1e-2, ((0.61, 0.25), (-29.78, 2.57)), ((0.87, 0.21), (-13.85, 1.09))),
    TableVIRow("mlp_l3", "cifar10", 1e-3, ((0.0, 0.0), (-16.22, 3.32)), ((1.01, 0.24), (-2.89, 0.51))),
    TableVIRow("mlp_l3_bn", "cifar10", 1e-3, ((0.61, 0.1), (-18.22, 0.95)), ((1.09, 0.24), (-5.32, 1.74))),
    TableVIRow("resnet10", "cifar10", 1e-3, None, ((0.8, 0.31), (-9.7, 3.39))),
    TableVIRow("resnet10", "cifar10", 1e-4, None, ((0.1, 0.04), (-3.65, 1.3))),
    TableVIRow("resnet10", "cifar10", 1e-4, None, ((0.12, 0.02), (-3.97, 0.64)), noise="different"),
    TableVIRow("resnet22", "cifar10", 1e-3, None, ((1.71, 1.16), (-28.32, 13.28))),
    TableVIRow("resnet22", "cifar10", 1e-4, None, ((0.14, 0.06), (-1.07, 0.69))),
    TableVIRow("resnet22", "cifar10", 1e-4, None, ((0.15, 0.03), (-1.22, 0.54)), noise="different"),
    TableVIRow("vgg11", "cifar10", 1e-4, ((1.05, 0.25), (-43.28, 6.35)), ((0.0, 0.0), (-1.21, 0.66))),
    TableVIRow("vgg19", "cifar10", 1e-4, None, ((0.27, 0.18), (-24.56, 4.95))),
)


class TableVIIRow(NamedTuple):
    """Table VII (B=1024): barrier and Δ for the 50/50 and the 20/80 split; ``noise_5050`` is
    "different" where the paper marks the 50/50 cell with *."""

    model: str
    lr: float
    dataset: str
    barrier_5050: Cell
    barrier_2080: Cell
    delta_5050: Cell
    delta_2080: Cell
    noise_5050: str = "same"


TABLE_VII = (
    TableVIIRow("resnet10", 1e-3, "mnist", (0.04, 0.04), (2.51, 0.68), (-1.07, 1.03), (-61.59, 7.02)),
    TableVIIRow("resnet10", 1e-4, "mnist", (0.0, 0.0), (1.9, 0.31), (-0.06, 0.08), (-72.78, 8.71), "different"),
    TableVIIRow("resnet22", 1e-3, "mnist", (2.33, 0.93), (2.85, 0.97), (-54.07, 11.45), (-63.68, 13.48)),
    TableVIIRow("resnet22", 1e-4, "mnist", (0.0, 0.0), (1.53, 0.72), (0.0, 0.03), (-44.59, 13.39), "different"),
    TableVIIRow("resnet10", 1e-3, "cifar10", (0.8, 0.31), (3.86, 0.81), (-9.7, 3.39), (-39.53, 4.65)),
    TableVIIRow("resnet10", 1e-4, "cifar10", (0.12, 0.02), (1.8, 0.56), (-3.97, 0.64), (-32.3, 4.48), "different"),
    TableVIIRow("resnet22", 1e-3, "cifar10", (1.71, 1.16), (4.22, 2.03), (-28.32, 13.28), (-53.99, 9.15)),
    TableVIIRow("resnet22", 1e-4, "cifar10", (0.15, 0.03), (1.95, 0.91), (-1.22, 0.54), (-29.0, 7.77), "different"),
    TableVIIRow("vgg11", 1e-4, "cifar10", (0.0, 0.0), (0.0, 0.0), (-1.21, 0.66), (1.6, 0.98)),
    TableVIIRow("vgg19", 1e-4, "cifar10", (0.27, 0.18), (0.29, 0.18), (-24.56, 4.95), (-27.64, 11.28)),
)


class TableVIIIRow(NamedTuple):
    """Table VIII (CIFAR-10 50/50, same noise): barrier and Δ, centered vs [0,1] normalisation."""

    model: str
    batch_size: int
    lr: float
    barrier_centered: Cell
    barrier_unit: Cell
    delta_centered: Cell
    delta_unit: Cell


TABLE_VIII = (
    TableVIIIRow("mlp_l1", 32, 1e-3, (0.0, 0.0), (0.4, 0.12), (-3.54, 0.98), (-14.88, 2.74)),
    TableVIIIRow("mlp_l1_bn", 32, 1e-3, (0.06, 0.02), (0.05, 0.03), (-3.19, 0.72), (-1.62, 1.33)),
    TableVIIIRow("mlp_l1", 1024, 1e-3, (0.08, 0.02), (0.74, 0.43), (0.98, 0.39), (-15.69, 6.63)),
    TableVIIIRow("mlp_l1_bn", 1024, 1e-3, (0.0, 0.0), (0.0, 0.0), (2.46, 0.54), (3.49, 0.97)),
    TableVIIIRow("mlp_l3", 1024, 1e-3, (1.01, 0.24), (2.6, 0.51), (-2.89, 0.51), (-14.9, 2.32)),
    TableVIIIRow("mlp_l3_bn", 1024, 1e-3, (1.09, 0.24), (0.95, 0.2), (-5.32, 1.74), (-4.51, 1.31)),
    TableVIIIRow("resnet10", 1024, 1e-4, (0.1, 0.04), (0.08, 0.03), (-3.65, 1.3), (-3.01, 1.42)),
    TableVIIIRow("vgg11", 1024, 1e-4, (0.0, 0.0), (0.0, 0.0), (-1.21, 0.66), (-1.53, 0.45)),
)


class TableIIIRow(NamedTuple):
    """Table III (CIFAR-10 50/50): LMC ensembles (mean, std over seeds) vs different-seed ensembles."""

    model: str
    lr: float
    batch_size: int
    wa_lmc: Cell
    wa_seeds: float
    wd_lmc: Cell
    wd_seeds: float
    vote_lmc: Cell
    vote_seeds: float
    average_lmc: Cell
    average_seeds: float


TABLE_III = (
    TableIIIRow("resnet22", 1e-4, 1024, (0.197, 0.004), 0.105, (0.045, 0.003), 0.081, (71.16, 0.73), 77.46, (72.18, 0.7), 78.16),
    TableIIIRow("vgg11", 1e-4, 1024, (0.196, 0.003), 0.112, (0.043, 0.002), 0.076, (71.63, 0.43), 77.39, (72.94, 0.34), 78.02),
    TableIIIRow("mlp_l1", 1e-3, 32, (0.245, 0.002), 0.185, (0.165, 0.002), 0.206, (50.39, 0.41), 52.13, (52.43, 0.35), 53.8),
)
"""The paper does not state the (lr, B) of its ensembles; we use each model's stable Table VI setting."""


def verdict_of(delta_mean: float) -> str:
    """The verdict of the −5 pp rule (Fig. 4's dashed line) for a mean Δ."""
    return "stable" if delta_mean >= -5.0 else "unstable"


UNBOLDED_DROPS = {
    ("VI", "mlp_l3_bn", "mnist", 1e-2, 1024, "centered"),
    ("VI", "mlp_l3_bn", "cifar10", 1e-3, 1024, "centered"),
    ("VIII", "mlp_l3_bn", "cifar10", 1e-3, 1024, "centered"),
}
"""Cells whose mean Δ lies below −5 % but which the paper prints without bold, i.e. as stable:
Table VI's −5.06 (MLP L3 BN, MNIST, lr 1e-2) and −5.32 (MLP L3 BN, CIFAR-10, lr 1e-3), and the
same −5.32 in Table VIII (centered)."""


def verdict_text(verdict: str, delta_mean: float) -> str:
    """A claim row's expectation for a paper cell: its printed verdict and the Δ it rests on."""
    note = ", printed without bold although below −5 pp" if verdict != verdict_of(delta_mean) else ""
    return f"{verdict} (paper Δ = {delta_mean} pp{note})"


def printed_verdict(table: str, model: str, dataset: str, lr: float, batch_size: int, delta_mean: float,
                    normalization: str = "centered") -> str:
    """The paper's own verdict for one cell: "unstable" where it prints Δ in bold, else "stable".
    The bolding follows the −5 pp rule except for :data:`UNBOLDED_DROPS`."""
    if (table, model, dataset, lr, batch_size, normalization) in UNBOLDED_DROPS:
        return "stable"
    return verdict_of(delta_mean)


def _cells() -> dict[tuple, dict[str, Cell]]:
    """Barrier and Δ of every configuration Tables VI, VII and VIII report, keyed by
    (model, dataset, lr, batch size, split, SGD noise, normalisation)."""
    cells: dict[tuple, dict[str, Cell]] = {}
    for r in TABLE_VI:
        for batch, cell in ((32, r.b32), (1024, r.b1024)):
            if cell is not None:
                cells[(r.model, r.dataset, r.lr, batch, "50/50", r.noise, r.normalization)] = {"barrier": cell[0], "delta": cell[1]}
    for r in TABLE_VII:
        cells[(r.model, r.dataset, r.lr, 1024, "50/50", r.noise_5050, "centered")] = {"barrier": r.barrier_5050, "delta": r.delta_5050}
        cells[(r.model, r.dataset, r.lr, 1024, "20/80", "different", "centered")] = {"barrier": r.barrier_2080, "delta": r.delta_2080}
    for r in TABLE_VIII:
        cells[(r.model, "cifar10", r.lr, r.batch_size, "50/50", "same", "centered")] = {"barrier": r.barrier_centered, "delta": r.delta_centered}
        cells[(r.model, "cifar10", r.lr, r.batch_size, "50/50", "same", "unit")] = {"barrier": r.barrier_unit, "delta": r.delta_unit}
    return cells


PAPER_CELLS = _cells()


def paper_key(spec: RunSpec) -> tuple | None:
    """The key of ``spec``'s configuration in :data:`PAPER_CELLS` (None for a protocol the tables do not cover)."""
    split = {"covariate": "50/50", "label_imbalance": f"{spec.data.imbalance_x}/{100 - spec.data.imbalance_x}"}.get(spec.data.shift)
    if split is None or spec.train.init != "shared" or spec.train.epochs != TrainSpec.epochs:
        return None
    return (spec.model, spec.data.dataset, spec.train.lr, spec.train.batch_size, split, spec.train.noise, spec.data.normalization)


def paper_numbers(spec: RunSpec) -> dict[str, Cell]:
    """The paper's barrier and Δ (mean, std) for the configuration of ``spec``; {} where it reports none."""
    return dict(PAPER_CELLS.get(paper_key(spec), {}))
