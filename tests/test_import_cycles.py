"""No import circle among runner's modules (nor the built-in plugins'), read from the source: every import counts.

An import inside a function or under ``if TYPE_CHECKING:`` hides a circle
rather than removing it, so every ``import`` statement of a module is an edge.
A parent package that a module's import executes first is no edge: Python
imports it before the module either way, and a package that imports its own
modules is no circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import REPO


def modules(src: Path, package: str) -> dict[str, Path]:
    """Every module of ``package`` under ``src`` by its dotted name (a package by its own name, for __init__.py)."""
    found = {}
    for path in sorted((src / package).rglob("*.py")):
        parts = path.relative_to(src).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _owner(name: str, known: dict[str, Path]) -> str | None:
    """The module of ``known`` that an imported dotted name lives in (``a.b.f`` -> ``a.b``), if any."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of ``known`` that the module ``name`` imports anywhere in its source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {_owner(alias.name, known) for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, one level up per dot after the first
                above = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*above, *([base] if base else [])])
            for alias in node.names:  # ``from a import b``: the module a.b where there is one, else a
                inner = f"{base}.{alias.name}"
                found.add(inner if inner in known else _owner(base, known))
    return found - {None, name}


def graph(src: Path, package: str) -> dict[str, set[str]]:
    known = modules(src, package)
    return {name: imports(name, path, known) for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One circle per group of modules that import each other, as the path around it (``a -> b -> a``)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(edges.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while not group or group[-1] != node:
                group.append(stack.pop())
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return [_circle(group, edges) for group in groups]


def _circle(group: list[str], edges: dict[str, set[str]]) -> list[str]:
    """The shortest path from the group's first module back to itself, within the group (breadth first)."""
    start, members = group[0], set(group)
    paths = [[start]]
    while paths:
        path = paths.pop(0)
        for other in sorted(edges[path[-1]] & members):
            if other == start:
                return [*path, start]
            if other not in path:
                paths.append([*path, other])
    raise AssertionError(f"{group} is no circle")


def test_a_circle_is_found_through_lazy_and_type_checking_imports(tmp_path):
    """The check can fail: a circle hidden in a function and under TYPE_CHECKING is reported with its path."""
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.sub import b\n")
    (package / "sub" / "b.py").write_text("def f():\n    from ..c import g\n")
    (package / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n")
    (package / "d.py").write_text("import pkg.a\n")  # into the circle, not part of it
    assert cycles(graph(tmp_path, "pkg")) == [["pkg.a", "pkg.sub.b", "pkg.c", "pkg.a"]]


@pytest.mark.parametrize("package", ["runner", "runner_plugins"])
def test_no_import_circle(package):
    found = cycles(graph(REPO / "src", package))
    assert not found, "import circles: " + "; ".join(" -> ".join(circle) for circle in found)
