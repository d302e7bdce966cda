"""The repository's own layout."""

from pathlib import Path


def test_test_modules_have_unique_basenames():
    """``pytest`` collects ``tests/`` and ``claims/`` in one session (rootdir import mode): two
    modules with one file name cannot both be imported."""
    root = Path(__file__).resolve().parent.parent
    names = [path.name for folder in ("tests", "claims", "benchmarks") for path in (root / folder).glob("test_*.py")]
    assert len(names) == len(set(names)), sorted(n for n in set(names) if names.count(n) > 1)
