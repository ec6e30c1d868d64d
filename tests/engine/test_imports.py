"""The engine's modules import one way: no cycles, and the engine knows no node."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

from support import REPO_ROOT


def import_graph(package: str) -> nx.DiGraph:
    """Module -> module edges for every import (lazy ones inside functions too)."""
    root = REPO_ROOT / package
    modules = {_module_name(package, root, p): p for p in root.rglob("*.py")}
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for statement in ast.walk(ast.parse(path.read_text())):
            for base, member in _targets(statement, here):
                # ``from pkg import mod`` imports the module ``pkg.mod``, not the package
                target = f"{base}.{member}" if f"{base}.{member}" in modules else base
                if target in modules and target != name:
                    graph.add_edge(name, target)
    return graph


def _module_name(package: str, root: Path, path: Path) -> str:
    parts = [package, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _targets(statement: ast.AST, here: str) -> list[tuple[str, str]]:
    """(module, imported name) pairs of one statement; plain imports have no name."""
    if isinstance(statement, ast.Import):
        return [(alias.name, "") for alias in statement.names]
    if not isinstance(statement, ast.ImportFrom):
        return []
    base = statement.module or ""
    if statement.level:
        anchor = here.split(".")[: len(here.split(".")) - statement.level + 1]
        base = ".".join([*anchor, *([base] if base else [])])
    return [(base, alias.name) for alias in statement.names]


def test_the_engine_has_no_import_cycle() -> None:
    graph = import_graph("graphengine")
    assert len(graph) > 20
    cycles = list(nx.simple_cycles(graph))
    assert cycles == [], "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_function_and_streaming_layers_do_not_import_each_other() -> None:
    graph = import_graph("graphengine")
    assert not graph.has_edge("graphengine.blocknode", "graphengine.node")
    assert graph.has_edge("graphengine.blocknode", "graphengine.context")


def test_the_engine_imports_no_node() -> None:
    for path in (REPO_ROOT / "graphengine").rglob("*.py"):
        for statement in ast.walk(ast.parse(path.read_text())):
            for base, _member in _targets(statement, "graphengine"):
                assert base.split(".")[0] != "nodes", f"{path.name} imports {base}"
