"""The paper's transcribed numbers and its printed (bold) verdicts."""

from lmc_bench.paper_tables import TABLE_VI, TABLE_VIII, UNBOLDED_DROPS, printed_verdict, verdict_of


def test_unbolded_drops_are_cells_of_the_tables_below_minus_five():
    """Each exception names a transcribed cell whose mean Δ is below −5 pp (else it would be no exception)."""
    cells = {("VI", r.model, r.dataset, r.lr, b, r.normalization): cell[1][0]
             for r in TABLE_VI for b, cell in ((32, r.b32), (1024, r.b1024)) if cell is not None}
    cells.update({("VIII", r.model, "cifar10", r.lr, r.batch_size, "centered"): r.delta_centered[0] for r in TABLE_VIII})
    for key in UNBOLDED_DROPS:
        assert key in cells, key
        assert -5.5 < cells[key] < -5.0


def test_printed_verdict_differs_from_the_rule_only_on_the_unbolded_cells():
    assert printed_verdict("VI", "mlp_l3_bn", "mnist", 1e-2, 1024, -5.06) == "stable"
    assert verdict_of(-5.06) == "unstable"
    assert printed_verdict("VIII", "mlp_l3_bn", "cifar10", 1e-3, 1024, -5.32) == "stable"
    assert printed_verdict("VIII", "mlp_l3_bn", "cifar10", 1e-3, 1024, -4.51, normalization="unit") == "stable"
    assert printed_verdict("VI", "mlp_l3", "mnist", 1e-3, 32, -17.82) == "unstable"
    assert printed_verdict("VI", "mlp_l1", "mnist", 1e-3, 32, -0.34) == "stable"
