"""A run's key holds a fingerprint of the training and metric code: edits to prose keep stored
runs valid, any change to the code itself invalidates them."""

import textwrap

from lmc_bench import code_version
from lmc_bench.code_version import code_tokens, source_fingerprint
from lmc_bench.config import RunSpec, spec_hash

SOURCE = textwrap.dedent('''
    """Module docstring."""

    def barrier(losses):
        """Eq. 1."""
        # the mean of the endpoints
        return max(losses) - 0.5 * (losses[0] + losses[-1])
''')


def fingerprint_of(tmp_path, source: str) -> str:
    path = tmp_path / "metrics.py"
    path.write_text(source)
    return source_fingerprint([path], tmp_path)


def test_prose_and_layout_do_not_change_the_fingerprint(tmp_path):
    reworded = SOURCE.replace('"""Eq. 1."""', '"""Frankle et al., Eq. 1 of the paper."""')
    reworded = reworded.replace("# the mean of the endpoints", "# endpoints\n\n\n")
    reworded = reworded.replace('"""Module docstring."""', '"""Barriers."""\n# a comment')
    assert fingerprint_of(tmp_path, reworded) == fingerprint_of(tmp_path, SOURCE)


def test_code_changes_change_the_fingerprint(tmp_path):
    baseline = fingerprint_of(tmp_path, SOURCE)
    assert fingerprint_of(tmp_path, SOURCE.replace("max(losses)", "min(losses)")) != baseline
    assert fingerprint_of(tmp_path, SOURCE.replace("0.5 *", "0.25 *")) != baseline
    assert fingerprint_of(tmp_path, SOURCE.replace("return", "x = 'a'\n    return")) != baseline


def test_string_constants_that_are_not_docstrings_count():
    assert "'mean'" in code_tokens("def f():\n    return 'mean'\n")
    assert '"""doc"""' not in code_tokens('def f():\n    """doc"""\n    return 1\n')


def test_fingerprint_is_part_of_the_run_key(monkeypatch):
    spec = RunSpec("mlp_l1")
    before = spec_hash(spec)
    monkeypatch.setattr("lmc_bench.config.code_fingerprint", lambda: "changed-code")
    assert spec_hash(spec) != before


def test_installed_fingerprint_covers_the_training_code():
    assert {"train.py", "metrics.py", "interpolate.py", "engine", "data", "models"} <= set(code_version.RESULT_MODULES)
    assert len(code_version.code_fingerprint()) == 12

