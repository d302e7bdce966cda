"""The claim suite's rows: ids that name claim, tier and setting; checks carried as data; the
paper's numbers wherever the paper gives them."""

import ast
import re

import pytest

from lmc_bench.claim_catalog import CLAIMS_DIR, collect_claim_tests
from lmc_bench.claims import ClaimRow, Trend, format_lr, paper_setting, paper_spec, settings_id, smoke_setting
from lmc_bench.paper_tables import PAPER_CELLS, TABLE_VI, TABLE_VII, TABLE_VIII, paper_key


@pytest.fixture(scope="module")
def claim_tests():
    return collect_claim_tests()


def test_every_test_id_starts_with_its_claim_and_tier(claim_tests):
    for test in claim_tests:
        test_id = test.nodeid.split("[", 1)[1].rstrip("]")
        assert test_id == test.row.id
        assert test_id.startswith(f"{test.row.claim}-{test.row.tier}-")


def test_ids_are_unique_within_a_test_function(claim_tests):
    """pytest appends 0, 1, ... to clashing ids; self-describing ids never clash."""
    keys = [(t.nodeid.split("[")[0], t.row.id) for t in claim_tests]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("claim_id", ["C3", "C4", "C6", "C9"])
def test_k_and_m_select_exactly_one_claim(claim_tests, claim_id):
    """``pytest claims -k C4`` selects C4's tests (Table VI rows are C3's); so does ``-m C4``."""
    expected = sorted(t.nodeid for t in claim_tests if t.row.claim == claim_id)
    assert expected
    assert sorted(t.nodeid for t in collect_claim_tests(["-k", claim_id])) == expected
    assert sorted(t.nodeid for t in collect_claim_tests(["-m", claim_id])) == expected


def test_table_vi_rows_are_selected_by_c3(claim_tests):
    selected = collect_claim_tests(["-k", "C3"])
    assert any("test_table_vi_verdict" in t.nodeid for t in selected)


def test_ids_spell_learning_rates_as_the_paper():
    assert [format_lr(x) for x in (1e-3, 1.5e-2, 1e-4, 0.01, 1000.0)] == ["1e-3", "1.5e-2", "1e-4", "1e-2", "1e3"]
    grid = [paper_setting("", paper_spec("resnet10", "mnist", 1e-3, b)) for b in (32, 256, 1024)]
    assert settings_id(grid) == "resnet10-mnist-lr1e-3-B32-vs-B256-vs-B1024"


def test_claim_tests_do_not_branch_on_expectation_text():
    """A row's check is data (verdict, trends, bounds); the prose ``expectation`` is for the report."""
    for path in CLAIMS_DIR.glob("test_*.py"):
        for function in ast.walk(ast.parse(path.read_text())):
            if isinstance(function, ast.FunctionDef) and function.name.startswith("test_"):
                used = {node.attr for node in ast.walk(function) if isinstance(node, ast.Attribute)}
                assert "expectation" not in used, f"{path.name}::{function.name} reads row.expectation"


def test_verdict_rows_carry_their_verdict(claim_tests):
    for test in claim_tests:
        if "verdict" in test.nodeid.split("::")[1].split("[")[0]:
            assert test.row.verdict in ("stable", "unstable"), test.nodeid


def test_trends_and_verdicts_are_checked_values():
    with pytest.raises(ValueError):
        Trend("barrier", "smaller")
    with pytest.raises(ValueError):
        ClaimRow("C1", "t", "IV", "smoke", (), "e", verdict="stabil")
    single = (paper_setting("", paper_spec("mlp_l1", "mnist", 1e-3, 32)),)
    with pytest.raises(ValueError, match="comparison"):
        ClaimRow("C6", "t", "IV", "smoke", single, "e", baseline_verdict="stable")
    with pytest.raises(ValueError):
        ClaimRow("C6", "t", "IV", "smoke", single * 2, "e", baseline_verdict="unstabel")


def test_a_setting_that_keeps_a_default_is_named_by_it():
    """A one-factor comparison whose first setting is the default (centred inputs, 50/50 split) names
    it, rather than leaving an empty part ("B64--vs-unit01")."""
    centred, unit = (paper_setting("", paper_spec("mlp_l1", "mnist", 1e-3, 64, normalization=n)) for n in ("centered", "unit"))
    assert settings_id([centred, unit]) == "mlp_l1-mnist-lr1e-3-B64-centred-vs-unit01"
    balanced, imbalanced = (paper_setting("", paper_spec("mlp_l1", "mnist", 3e-3, 64, shift=s, noise="different"))
                            for s in ("covariate", "label_imbalance"))
    assert settings_id([balanced, imbalanced]) == "mlp_l1-mnist-lr3e-3-B64-diff-noise-split50-50-vs-split20-80"
    models = [paper_setting("", paper_spec(m, "mnist", 1e-3, 32)) for m in ("mlp_l1", "mlp_l3")]
    assert settings_id(models) == "mnist-lr1e-3-B32-mlp_l1-vs-mlp_l3"


def test_paper_tables_agree_where_they_overlap():
    """Tables VI, VII and VIII repeat some configurations; the repeated cells are equal."""
    seen = {}
    for r in TABLE_VI:
        for batch, cell in ((32, r.b32), (1024, r.b1024)):
            if cell is not None:
                seen[(r.model, r.dataset, r.lr, batch, "50/50", r.noise, r.normalization)] = cell
    for r in TABLE_VII:
        key = (r.model, r.dataset, r.lr, 1024, "50/50", r.noise_5050, "centered")
        assert seen.setdefault(key, (r.barrier_5050, r.delta_5050)) == (r.barrier_5050, r.delta_5050), key
    for r in TABLE_VIII:
        key = (r.model, "cifar10", r.lr, r.batch_size, "50/50", "same", "centered")
        assert seen.setdefault(key, (r.barrier_centered, r.delta_centered)) == (r.barrier_centered, r.delta_centered), key


def test_every_setting_shows_the_paper_numbers_of_its_configuration(claim_tests):
    """The same paper configuration shows the same paper barrier and Δ in every claim, and never "–"
    where Tables VI-VIII give them (smoke analogues included)."""
    by_key = {}
    for test in claim_tests:
        for setting in test.row.settings:
            key = paper_key(setting.paper_spec) if setting.paper_spec is not None else None
            if key in PAPER_CELLS:
                numbers = {k: setting.paper.get(k) for k in ("barrier", "delta")}
                assert numbers == PAPER_CELLS[key], (test.nodeid, setting.label)
                by_key.setdefault(key, set()).add(test.row.claim)
    assert len(by_key) > 40
    smoke = smoke_setting("", paper_spec("mlp_l3", "mnist_bundled", 1.5e-2, 32), ("mnist", 1e-3, 32))
    assert smoke.paper == {"barrier": (2.35, 1.97), "delta": (-17.82, 7.91)}


def test_labels_are_uniform(claim_tests):
    """Settings are named from their spec, so one configuration has one name across claims."""
    for test in claim_tests:
        for setting in test.row.settings:
            assert re.match(r"^[a-z0-9_]+, [a-z0-9_]+, lr [0-9.e-]+, B=\d+", setting.label), setting.label


def _given(setting, deltas, barriers, control_flat=True):
    from lmc_bench.claims import Measurement

    def records(ds, bs):
        return [{"metrics": {"delta": d, "barrier": b, "barrier_frankle": b}, "spec": {"seed": i}, "hash": str(i)}
                for i, (d, b) in enumerate(zip(ds, bs))]

    zeros = [0.0] * len(deltas)
    control = Measurement(setting, records(zeros, zeros if control_flat else [0.5] * len(deltas)))
    return Measurement(setting, records(deltas, barriers), control=control)


def _one_factor_row():
    settings = tuple(smoke_setting("", paper_spec(m, "mnist_bundled", 1e-2, 64, normalization="unit"), ("cifar10", 1e-3, 1024))
                     for m in ("mlp_l3", "mlp_l3_bn"))
    return ClaimRow("C6", "t", "IV-G", "smoke", settings, "e", baseline_verdict="unstable", verdict="stable",
                    trends=(Trend("barrier", "lower", every_seed=True),))


def _recorder(row):
    from lmc_bench.claims import ClaimContext, ClaimRecorder

    return ClaimRecorder(ClaimContext("smoke", False, None, None), row)


def test_a_one_factor_row_checks_its_premise_first():
    """expect_row: the baseline verdict (with its flat control), then the trends, then the verdict;
    a comparison whose premise fails stops there, so it cannot pass for the wrong reason."""
    row = _one_factor_row()
    recorder = _recorder(row)
    recorder.expect_row([_given(row.settings[0], [-10.0, -8.0], [0.5, 0.6]), _given(row.settings[1], [-1.0, -2.0], [0.1, 0.1])])
    assert [c["passed"] for c in recorder.outcome["checks"]] == [True, True, True, True]
    assert "is unstable" in recorder.outcome["checks"][0]["description"]
    assert "control is flat" in recorder.outcome["checks"][1]["description"]

    recorder = _recorder(row)
    with pytest.raises(AssertionError, match="is unstable"):
        recorder.expect_row([_given(row.settings[0], [-1.0, -8.0], [0.5, 0.6]), _given(row.settings[1], [-1.0, -2.0], [0.1, 0.1])])
    assert len(recorder.outcome["checks"]) == 1

    recorder = _recorder(row)
    with pytest.raises(AssertionError, match="control is flat"):
        recorder.expect_row([_given(row.settings[0], [-10.0, -8.0], [0.5, 0.6], control_flat=False),
                             _given(row.settings[1], [-1.0, -2.0], [0.1, 0.1])])

    recorder = _recorder(row)
    with pytest.raises(AssertionError, match="barrier lower"):
        recorder.expect_row([_given(row.settings[0], [-10.0, -8.0], [0.5, 0.6]), _given(row.settings[1], [-1.0, -2.0], [0.1, 0.7])])

    recorder = _recorder(row)
    with pytest.raises(AssertionError, match="is stable"):
        recorder.expect_row([_given(row.settings[0], [-10.0, -8.0], [0.5, 0.6]), _given(row.settings[1], [-1.0, -6.0], [0.1, 0.1])])
