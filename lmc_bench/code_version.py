"""Fingerprint of the code that determines what a run computes; part of every run's key.

The results store keys a run by its spec (:func:`lmc_bench.config.spec_hash`). A spec alone would
let results computed by older training or metric code be read as current after an upgrade or an
edit; the key therefore also holds a hash of the source of the modules that train, interpolate
and measure (:data:`RESULT_MODULES`). Comments, docstrings and layout are left out, so editing
prose never invalidates stored runs, while any change to the code itself does.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import io
import tokenize
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
RESULT_MODULES = ("config.py", "devices.py", "train.py", "interpolate.py", "metrics.py", "experiment.py", "data", "models", "engine")
"""Modules and packages (relative to ``lmc_bench/``) whose code determines a run's numbers."""

_SKIPPED_TOKENS = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING}


def _docstring_starts(tree: ast.AST) -> set[tuple[int, int]]:
    """(line, column) of every docstring: the leading string of a module, class or function body."""
    starts = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                starts.add((first.lineno, first.col_offset))
    return starts


def code_tokens(source: str) -> list[str]:
    """The tokens of ``source`` that carry meaning: no comments, docstrings, blank lines or layout."""
    docstrings = _docstring_starts(ast.parse(source))
    tokens = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in _SKIPPED_TOKENS or (token.type == tokenize.STRING and token.start in docstrings):
            continue
        tokens.append(token.string)
    return tokens


def source_fingerprint(files: list[Path], root: Path) -> str:
    """SHA-256 (first 12 hex digits) over the code tokens of ``files``, named relative to ``root``."""
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update("\x1f".join(code_tokens(path.read_text(encoding="utf-8"))).encode() + b"\0")
    return digest.hexdigest()[:12]


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Fingerprint of this installation's result-determining code (:data:`RESULT_MODULES`)."""
    files = []
    for name in RESULT_MODULES:
        path = PACKAGE_DIR / name
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return source_fingerprint(files, PACKAGE_DIR)
