"""The design's import boundaries hold: what each part loads, import circles, module sizes.

Each part is imported in a fresh interpreter, so what it loads is what a kernel, a Jupyter
server, a pool process or a job process would pay for (memory, start-up time, and a crash
when an optional dependency is missing), not what earlier tests happened to import.
"""

from __future__ import annotations

import ast
import functools
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PACKAGE = ROOT / "jupyter_fairshare"
MAX_LINES = 400
# Generated, append-only schema history: its length says nothing about the design.
UNSIZED = [PACKAGE / "pool" / "store" / "migrations"]

POOL_SIDE = ["jupyter_fairshare.pool.pool", "jupyter_fairshare.pool.http.app", "jupyter_fairshare.pool.serve"]
KERNEL_SIDE = ["jupyter_fairshare.notebook.api", "jupyter_fairshare.notebook.magics", "jupyter_fairshare.client"]

# (the module imported, what it must not load, why)
BOUNDARIES = [
    *(
        (
            module,
            ["IPython", "ipykernel", "jupyter_server", "jupyter_fairshare.notebook",
             "jupyter_fairshare.client", "jupyter_fairshare.server"],
            "the pool is a service on its own: it never runs in a kernel and speaks no HTTP client",
        )
        for module in POOL_SIDE
    ),
    *(
        (
            module,
            ["jupyter_fairshare.pool", "fastapi", "sqlalchemy", "uvicorn"],
            "a kernel reaches the pool only over HTTP, so it pays nothing for the pool's code",
        )
        for module in KERNEL_SIDE
    ),
    (
        "jupyter_fairshare.server",
        ["jupyter_fairshare.pool"],
        "the Jupyter server extension is a client of the pool, not a host of it",
    ),
    (
        "jupyter_fairshare.execution.job",
        ["jupyter_fairshare.execution.worker", "jupyter_fairshare.pool"],
        "every megabyte a job process imports is copied into each process forked from the zygote",
    ),
    (
        "jupyter_fairshare",
        ["httpx"],
        "job processes import the package root, and the HTTP client is for the kernel side only",
    ),
]


@functools.cache
def loaded_by(module: str) -> frozenset[str]:
    """The modules a fresh interpreter holds after importing ``module`` (this tree's copy)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    code = f"import sys, {module}; print('\\n'.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"importing {module} failed:\n{result.stderr}"
    return frozenset(result.stdout.split())


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize(("module", "forbidden", "why"), BOUNDARIES, ids=[module for module, _, _ in BOUNDARIES])
def test_a_part_loads_nothing_across_its_boundary(module: str, forbidden: list[str], why: str):
    loaded = loaded_by(module)
    crossing = {name for name in loaded if any(within(name, prefix) for prefix in forbidden)}
    # Name each crossing package once, not every submodule it brought along.
    tops = sorted(name for name in crossing if not any(within(name, other) for other in crossing - {name}))
    assert not tops, (
        f"importing {module} loads {', '.join(tops)}; it must not, because {why}. "
        f"`python -X importtime -c 'import {module}'` shows which import brings them."
    )


def test_the_boundary_check_sees_what_a_part_does_load():
    # Guards the check itself: a subprocess that imported nothing would pass every boundary.
    assert "jupyter_fairshare.pool.policy.scheduler" in loaded_by("jupyter_fairshare.pool.pool")
    assert "jupyter_fairshare.client" in loaded_by("jupyter_fairshare.notebook.api")


# ----------------------------------------------------------------- the static checks


def package_modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its ``__init__``)."""
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def module_level_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Imports run when the module is imported: not in functions, not under ``TYPE_CHECKING``."""
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If):
            if not is_type_checking(node.test):
                pending.extend(node.body)
            pending.extend(node.orelse)
        elif isinstance(node, ast.Try):
            pending.extend([*node.body, *node.orelse, *node.finalbody])
            for handler in node.handlers:
                pending.extend(handler.body)
        elif isinstance(node, ast.With):
            pending.extend(node.body)


def import_graph() -> dict[str, set[str]]:
    """Which package modules each package module imports when it is imported."""
    modules = package_modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in module_level_imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                # `from a import b` imports the module a.b when there is one, else a name of a.
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names
                ]
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle through each strongly connected group of modules (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [circle_in(graph, group) for group in groups]


def circle_in(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """A shortest path from the group's first module back to itself, inside the group."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for other in sorted(graph[node] & group):
                if other == start:
                    return [*paths[node], start]
                if other not in paths:
                    paths[other] = [*paths[node], other]
                    following.append(other)
        frontier = following
    raise AssertionError(f"{sorted(group)} is strongly connected, so a circle through {start} must exist")


def test_the_circle_finder_finds_a_circle_and_only_that():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [["a", "b", "c", "a"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_the_import_graph_sees_relative_and_absolute_imports():
    graph = import_graph()
    assert "jupyter_fairshare.pool.policy.heads" in graph["jupyter_fairshare.pool.policy.scheduler"]
    assert "jupyter_fairshare.pool.policy.scheduler" in graph["jupyter_fairshare.pool.policy"]


def test_no_modules_of_the_package_import_each_other_in_a_circle():
    found = circles(import_graph())
    assert not found, "these modules import each other in a circle; move what both need into a third module:\n" + (
        "\n".join(" -> ".join(circle) for circle in found)
    )


def test_no_module_of_the_package_is_over_400_lines():
    long = {
        str(path.relative_to(ROOT)): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if not any(path.is_relative_to(folder) for folder in UNSIZED)
        and (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"these modules are over {MAX_LINES} lines; split each by concept: {long}"
