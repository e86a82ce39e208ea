"""The code's shape, as docs/layout.md states it: no module uses another's private names,
imports make no circle, the MADE class reads in a sitting (at most 400 lines) and no function
but the parser's is over 100 lines."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "made"
# torch's own Distribution attribute, set as torch's expand() sets it
ALLOWED = {("made.distributions", "new._validate_args")}


def _modules() -> dict[str, tuple[Path, ast.Module]]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        name = ".".join(("made", *parts)).removesuffix(".__init__")
        out[name] = (path, ast.parse(path.read_text()))
    return out


def _imports(name: str, path: Path, tree: ast.Module, known: set[str]) -> set[tuple[str, str]]:
    """``(module, imported name)`` of every relative import (``TYPE_CHECKING`` ones too)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                full = f"{target}.{alias.name}"
                found.add((full if full in known else target, alias.name))
    return found


def test_no_module_uses_another_modules_private_names():
    modules = _modules()
    crossing = []
    for name, (path, tree) in modules.items():
        for _, imported in _imports(name, path, tree, set(modules)):
            if imported.startswith("_") and not imported.startswith("__"):
                crossing.append(f"{name} imports {imported}")
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                    and not node.attr.startswith("__") and isinstance(node.value, ast.Name)
                    and node.value.id not in ("self", "cls", "ctx", "super")):  # fmt: skip
                where = (name, f"{node.value.id}.{node.attr}")
                if where not in ALLOWED:
                    crossing.append(f"{name} uses {where[1]}")
    assert not crossing, crossing


def test_imports_make_no_circle():
    modules = _modules()
    graph = {
        name: {m for m, _ in _imports(name, path, tree, set(modules)) if m in modules} - {name}
        for name, (path, tree) in modules.items()
    }
    # a package's __init__ re-exports its modules: an edge into it is an edge into them all
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in graph[node]:
            if nxt == "made" or (nxt == "made.data" and node.startswith("made.data.")):
                continue  # the packages' own __init__, which only re-exports
            assert state.get(nxt) != 1, " -> ".join([*path, nxt])
            if nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for name in graph:
        if name not in state:
            visit(name, [name])


def test_the_core_reads_in_a_sitting():
    long = []
    for name, (_, tree) in _modules().items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef | ast.FunctionDef):
                continue
            size = node.end_lineno - node.lineno + 1
            if isinstance(node, ast.ClassDef) and node.name == "MADE":
                assert size <= 400, f"MADE is {size} lines"
            if isinstance(node, ast.FunctionDef) and size > 100 and name != "made.cli":
                long.append(f"{name}.{node.name}: {size} lines")
            if isinstance(node, ast.FunctionDef) and name == "made.cli" and size > 100:
                assert node.name == "build_parser" or node.name.startswith("_add_"), node.name
    assert not long, long
