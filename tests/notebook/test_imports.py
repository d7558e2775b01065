"""The kernel side's modules import one another in one direction only: no circle, not even for types."""

from __future__ import annotations

import ast
from pathlib import Path

import jupyter_fairshare.notebook as notebook

PACKAGE = Path(notebook.__file__).parent


def imports_within(path: Path) -> set[str]:
    """The sibling modules ``path`` imports, at run time, in a function or under TYPE_CHECKING."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found.update([node.module] if node.module else [alias.name for alias in node.names])
    return {name.split(".")[0] for name in found} - {path.stem}


def test_no_module_of_the_kernel_side_reaches_itself_through_its_imports():
    graph = {path.stem: imports_within(path) for path in PACKAGE.glob("*.py")}
    for start in graph:
        seen, todo = set(), list(graph[start])
        while todo:
            name = todo.pop()
            assert name != start, f"notebook/{start}.py reaches itself through notebook/{name}.py"
            if name not in seen:
                seen.add(name)
                todo.extend(graph.get(name, ()))


def test_the_views_and_the_folding_import_nothing_of_the_kernel_side():
    assert imports_within(PACKAGE / "widgets.py") == set()
    assert imports_within(PACKAGE / "folding.py") == set()
