"""The mutations of ``tests/mutation_check.py`` still apply to the current source.

The mutation check itself trains and runs tests for minutes, so it is a script; this keeps it from
going stale silently: each mutation's old text occurs exactly once, the edit changes the code and
leaves a valid program, and the tests it names exist.
"""

import ast
import importlib.util
import sys
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent


def _load_mutation_check():
    spec = importlib.util.spec_from_file_location("mutation_check", TESTS_DIR / "mutation_check.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


mutation_check = _load_mutation_check()


@pytest.mark.parametrize("mutation", mutation_check.MUTATIONS, ids=lambda m: m.name)
def test_mutation_still_applies(mutation):
    source = mutation_check.mutated_source(mutation, REPO_ROOT / "lmc_bench")
    assert mutation.new != mutation.old
    ast.parse(source)
    for target in mutation.tests:
        path, _, test_name = target.partition("::")
        assert (REPO_ROOT / path).is_file(), target
        if test_name:
            assert f"def {test_name}(" in (REPO_ROOT / path).read_text(encoding="utf-8"), target


def test_stale_mutation_is_reported(tmp_path):
    (tmp_path / "metrics.py").write_text("x = 1\n")
    mutation = mutation_check.MUTATIONS[0]
    with pytest.raises(mutation_check.StaleMutation, match="found it 0 times"):
        mutation_check.mutated_source(mutation, tmp_path)


def test_mutation_names_are_unique():
    names = [m.name for m in mutation_check.MUTATIONS]
    assert len(set(names)) == len(names)
