"""The package's modules import one way: no module reaches back to one that imports it."""

import ast
import re
from pathlib import Path

import lmc_bench

PACKAGE = Path(lmc_bench.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """lmc_bench modules that ``path`` imports anywhere (also inside functions)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            candidates = [base] + [f"{base}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            continue
        found |= {c for c in candidates if c in known}
    return found - {name}


def test_no_import_cycles():
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {name: imported_modules(path, set(files)) for name, path in files.items()}

    def cycle_from(start):
        stack, seen = [(start, [start])], set()
        while stack:
            node, trail = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    return trail + [nxt]
                if nxt not in seen and not start.startswith(nxt + ".") and not nxt.startswith(start + "."):
                    seen.add(nxt)
                    stack.append((nxt, trail + [nxt]))
        return None

    cycles = [cycle_from(name) for name in graph]
    assert not [c for c in cycles if c], [c for c in cycles if c][:3]


ROOT = PACKAGE.parent
TEXT_SUFFIXES = {".py", ".md", ".toml", ".txt", ".cfg", ""}


def project_text_files():
    """Source and documentation files of the project (virtual environments and caches excluded)."""
    skip = {".git", ".venv", ".venv-ci", "__pycache__", ".pytest_cache", ".hypothesis", "build", "dist", ".lmc-results", "reports"}
    for path in ROOT.rglob("*"):
        parts = path.relative_to(ROOT).parts
        if path.is_file() and path.suffix in TEXT_SUFFIXES and not skip & set(parts) \
                and not any(part.endswith(".egg-info") for part in parts):
            yield path


def test_the_project_speaks_of_itself_only():
    """No references to tracker tickets in code or docs: they mean nothing to a reader of the repository."""
    pattern = re.compile(r"\bissues? ?#?\d+|\(#\d+\)", re.IGNORECASE)
    offenders = [f"{p.relative_to(ROOT)}:{n}" for p in project_text_files()
                 for n, line in enumerate(p.read_text(errors="replace").splitlines(), 1) if pattern.search(line)]
    assert not offenders, offenders


def test_code_and_docs_cite_only_what_the_repository_holds():
    """The specification lives in docs/; nothing points to a claims file outside the repository."""
    offenders = [f"{p.relative_to(ROOT)}:{n}" for p in project_text_files()
                 for n, line in enumerate(p.read_text(errors="replace").splitlines(), 1)
                 if "CLAIMS.md" in line and p.name != "test_architecture.py"]
    assert not offenders, offenders
    for doc in ("protocol.md", "metrics.md", "claims.md"):
        assert (ROOT / "docs" / doc).is_file()


def test_readme_layout_names_every_module():
    readme = (ROOT / "README.md").read_text()
    layout = readme[readme.index("## Layout"):]
    names = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"} | {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    missing = sorted(n for n in names if not re.search(rf"\b{n}\b", layout))
    assert not missing, missing
