"""No import cycle between the layer's packages: a feature never imports the feature that calls it.

The layer (layers/common/smtphub) is read with `ast`, nothing imported: every `import` and `from ... import`
anywhere in a module counts, those inside functions and under TYPE_CHECKING too (a type is a dependency).
Each module belongs to its package (`smtphub.smtps`, `smtphub.http`, ...) or, at the top level, is a
package of its own (`smtphub.dynamo`). A cycle between two of them fails, naming an import on each edge.
What two features share moves down (a module of the one below, or one at the top level); a callback up
goes through a Protocol the composition root (`smtphub.wiring`) fills in.

FLOORS says where each package stands, lowest first (README, "Layout"): a new feature's package gets a
floor above what it uses and below what calls it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

LAYER = Path(__file__).resolve().parents[2] / "layers" / "common"
ROOT_PACKAGE = "smtphub"
# Lowest first: a package may import those on its own floor's left and on the floors below, never above.
FLOORS: tuple[tuple[str, ...], ...] = (
    (
        "addresses",
        "errors",
        "ids",
        "netguard",
        "guardedhttps",
        "observability",
        "record",
        "serviceaccount",
        "settings",
        "aws",
    ),
    ("dynamo", "codec"),
    ("accounts", "apps"),
    ("blacklists",),
    ("smtps",),
    ("smtp",),
    ("health",),
    ("check",),
    ("emails",),
    ("tracking",),
    ("sending",),
    ("webhooks",),
    ("http",),
    ("wiring",),
)


def module_name(path: Path, layer: Path) -> str:
    parts = list(path.relative_to(layer).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, name: str) -> Iterator[tuple[str, int]]:
    """Every module `path` (module `name`) imports, with its line, relative imports resolved."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from ((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            yield base, node.lineno
            yield from ((f"{base}.{alias.name}", node.lineno) for alias in node.names)


def unit_of(module: str, root: str = ROOT_PACKAGE) -> str | None:
    """The package a module of the layer belongs to (`smtps` for smtphub.smtps.repository), else None."""
    parts = module.split(".")
    if parts[0] != root or len(parts) < 2:
        return None
    return parts[1]


def edges(layer: Path, root: str = ROOT_PACKAGE) -> dict[tuple[str, str], str]:
    """(importer's package, imported package) -> one import that makes it (`file:line imports module`)."""
    modules = {module_name(path, layer): path for path in (layer / root).rglob("*.py")}
    units = {unit for unit in (unit_of(name, root) for name in modules) if unit}
    found: dict[tuple[str, str], str] = {}
    for name, path in sorted(modules.items()):
        source = unit_of(name, root)
        for imported, line in imports(path, name):
            target = unit_of(imported, root)
            if source and target and target != source and target in units:
                found.setdefault((source, target), f"{path.relative_to(layer)}:{line} imports {imported}")
    return found


def cycles(graph: dict[tuple[str, str], str]) -> list[list[str]]:
    """The strongly connected components of more than one package (Tarjan), each sorted."""
    nodes = sorted({node for edge in graph for node in edge})
    successors = {node: sorted(b for a, b in graph if a == node) for node in nodes}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for following in successors[node]:
            if following not in index:
                visit(following)
                low[node] = min(low[node], low[following])
            elif following in stack:
                low[node] = min(low[node], index[following])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in nodes:
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_between_the_layers_packages() -> None:
    graph = edges(LAYER)
    assert graph, "no import found: is the layer where this test looks?"
    problems = []
    for component in cycles(graph):
        inside = [
            f"  {a} -> {b}: {where}" for (a, b), where in sorted(graph.items()) if {a, b} <= set(component)
        ]
        problems.append(f"cycle between {', '.join(component)}:\n" + "\n".join(inside))
    assert not problems, "\n".join(problems)


def test_each_package_imports_only_its_floor_and_below() -> None:
    """The floors above hold: a package never imports one on a higher floor (nor one later on its own)."""
    order = [unit for floor in FLOORS for unit in floor]
    graph = edges(LAYER)
    packages = {unit for edge in graph for unit in edge}
    assert packages <= set(order), f"give {sorted(packages - set(order))} a floor in FLOORS"
    upward = [
        f"{a} -> {b}: {where}" for (a, b), where in sorted(graph.items()) if order.index(b) > order.index(a)
    ]
    assert not upward, "imports up the floors:\n" + "\n".join(upward)


# Features that must not call each other although their floors would allow it: what they share is one floor
# down (the check and the sender share the SMTP client, smtphub.smtp).
APART = (("sending", "check"),)


def test_features_that_stand_apart_import_nothing_of_each_other() -> None:
    graph = edges(LAYER)
    found = [f"{a} -> {b}: {graph[(a, b)]}" for a, b in APART if (a, b) in graph]
    assert not found, "a feature calling a feature:\n" + "\n".join(found)


def test_a_cycle_is_found_and_named(tmp_path: Path) -> None:
    """The checker itself: two packages importing each other (one only for typing, inside a function)."""
    root = tmp_path / "pkg"
    for package, source in {
        "a": "from pkg.b.thing import X\n",
        "b": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.c import Y\n",
        "c": "def f():\n    from ..a import mod\n",
        "d": "import pkg.a.mod\n",
    }.items():
        (root / package).mkdir(parents=True)
        (root / package / "__init__.py").write_text("")
        (root / package / "mod.py").write_text(source)
    (root / "b" / "thing.py").write_text("X = 1\n")
    (root / "__init__.py").write_text("")
    graph = edges(tmp_path, "pkg")
    assert cycles(graph) == [["a", "b", "c"]]
    assert graph[("c", "a")].startswith("pkg/c/mod.py:2 imports pkg.a")
    assert ("d", "a") in graph


@pytest.mark.parametrize(
    ("module", "unit"), [("smtphub.smtps.repository", "smtps"), ("smtphub.dynamo", "dynamo")]
)
def test_a_module_belongs_to_its_package_or_is_one(module: str, unit: str | None) -> None:
    assert unit_of(module) == unit
