"""The scope walker behind :func:`.capture.analyse`: what a cell reads before it assigns it.

It walks a cell's module-level block statement by statement, tracking which names are
certainly assigned at each point: a name assigned in only one branch of an ``if``, in a loop
body or in a ``try`` is not, so a later read of it still counts as a read from the kernel.
Functions and classes the cell defines read the names free in them.

It also records the names whose objects the cell may change in place, so that they come
back although never assigned: those it calls a method on (``model.fit(X)``, ``rng.random()``),
passes to a call (``setattr(obj, ...)``, ``np.copyto(a, b)``), assigns an attribute or an
item of, or deletes. Reading the AST rather than comparing values keeps a cell that changes
nothing from paying a pickle per input.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from .nested import PURE_BUILTINS, changed_inside, free_names

__all__ = ["Scope"]


class Scope:
    """Walks one module-level block, tracking what is certainly assigned at each point."""

    def __init__(self) -> None:
        self.assigned: set[str] = set()
        self.reads: dict[str, None] = {}
        self.writes: dict[str, None] = {}
        self.imports: set[str] = set()
        self.modules: set[str] = set()
        self.changes: dict[str, None] = {}
        self.direct: dict[str, None] = {}
        self.bound: set[str] = set()

    # -- recording ------------------------------------------------------------------

    def read(self, name: str, direct: bool = True) -> None:
        if name not in self.assigned:
            self.reads.setdefault(name, None)
            if direct:
                self.direct.setdefault(name, None)

    def change(self, node: ast.expr) -> None:
        """The object ``node`` names (``x``, ``x.a``, ``x[i]``) may be changed in place."""
        root = _root_name(node)
        if root is not None:
            self.changes.setdefault(root, None)

    def write(self, name: str) -> None:
        self.bound.add(name)
        self.assigned.add(name)
        self.writes.pop(name, None)
        self.writes[name] = None

    def delete(self, name: str) -> None:
        self.read(name)
        self.changes.setdefault(name, None)
        self.assigned.discard(name)
        self.writes.pop(name, None)

    # -- statements -----------------------------------------------------------------

    def block(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            self.stmt(stmt)

    def branch(self, body: list[ast.stmt], start: set[str]) -> set[str]:
        """Walk ``body`` from the assigned set ``start``; return the set at its end."""
        self.assigned = set(start)
        self.block(body)
        return self.assigned

    def stmt(self, node: ast.stmt) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self.exprs(node.decorator_list)
            self.arguments(node.args)
            self.expr(node.returns)
            self.free(sorted(free_names(node)), node)
            self.write(node.name)
            # ``global x`` inside the function assigns the cell's ``x`` when it is called.
            for name in _declared_global(node):
                self.writes.setdefault(name, None)
                self.bound.add(name)
        elif isinstance(node, ast.ClassDef):
            self.exprs(node.decorator_list)
            self.exprs(node.bases)
            self.exprs(k.value for k in node.keywords)
            self.free(sorted(free_names(node)), node)
            self.write(node.name)
        elif isinstance(node, ast.Assign):
            self.expr(node.value)
            for target in node.targets:
                self.target(target)
        elif isinstance(node, ast.AugAssign):
            self.expr(node.value)
            if isinstance(node.target, ast.Name):
                self.read(node.target.id)
            self.target(node.target)
        elif isinstance(node, ast.AnnAssign):
            self.expr(node.value)
            self.expr(node.annotation)
            if node.value is not None or not isinstance(node.target, ast.Name):
                self.target(node.target)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            self.expr(node.iter)
            before = set(self.assigned)
            self.target(node.target)
            self.block(node.body)
            self.branch(node.orelse, self.assigned)
            self.assigned = before
        elif isinstance(node, ast.While):
            self.expr(node.test)
            before = set(self.assigned)
            self.block(node.body)
            self.branch(node.orelse, self.assigned)
            self.assigned = before
        elif isinstance(node, ast.If):
            self.expr(node.test)
            before = set(self.assigned)
            then = self.branch(node.body, before)
            other = self.branch(node.orelse, before)
            self.assigned = then & other
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                self.expr(item.context_expr)
                if item.optional_vars is not None:
                    self.target(item.optional_vars)
            self.block(node.body)
        elif isinstance(node, (ast.Try, ast.TryStar)):
            self.try_(node)
        elif isinstance(node, ast.Match):
            self.match(node)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.asname or alias.name.split(".")[0]
                self.modules.add(alias.name)
                self.imports.add(name)
                self.write(name)
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if node.module and not node.level:
                    self.modules.add(node.module)
                if alias.name != "*" and node.module != "__future__":
                    name = alias.asname or alias.name
                    self.imports.add(name)
                    self.write(name)
        elif isinstance(node, ast.Delete):
            for target in node.targets:
                self.delete_target(target)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            return
        else:
            # Expr, Return, Raise, Assert, Pass, Break, Continue: only reads.
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self.expr(child)

    def try_(self, node: ast.Try | ast.TryStar) -> None:
        before = set(self.assigned)
        self.block(node.body)
        ends = [self.branch(node.orelse, self.assigned)]
        for handler in node.handlers:
            self.assigned = set(before)
            self.expr(handler.type)
            if handler.name:
                self.write(handler.name)
            self.block(handler.body)
            # Python unbinds the handler's name when the handler ends.
            self.assigned.discard(handler.name or "")
            self.writes.pop(handler.name or "", None)
            ends.append(self.assigned)
        after = set.intersection(*ends)
        self.assigned = set(before)
        self.block(node.finalbody)
        self.assigned |= after

    def match(self, node: ast.Match) -> None:
        self.expr(node.subject)
        before = set(self.assigned)
        ends = []
        for case in node.cases:
            self.assigned = set(before)
            self.pattern(case.pattern)
            self.expr(case.guard)
            self.block(case.body)
            ends.append(self.assigned)
        last = node.cases[-1] if node.cases else None
        exhaustive = last is not None and last.guard is None and _irrefutable(last.pattern)
        if not exhaustive:
            ends.append(before)
        self.assigned = set.intersection(*ends)

    def pattern(self, node: ast.pattern) -> None:
        for sub in ast.walk(node):
            if isinstance(sub, ast.MatchValue):
                self.expr(sub.value)
            elif isinstance(sub, ast.MatchClass):
                self.expr(sub.cls)
            elif isinstance(sub, ast.MatchMapping):
                self.exprs(sub.keys)
        for sub in ast.walk(node):
            name = getattr(sub, "name", None) if isinstance(sub, (ast.MatchAs, ast.MatchStar)) else None
            if isinstance(sub, ast.MatchMapping):
                name = sub.rest
            if name:
                self.write(name)

    # -- targets --------------------------------------------------------------------

    def target(self, node: ast.expr) -> None:
        if isinstance(node, ast.Name):
            self.write(node.id)
        elif isinstance(node, (ast.Tuple, ast.List)):
            for element in node.elts:
                self.target(element)
        elif isinstance(node, ast.Starred):
            self.target(node.value)
        elif isinstance(node, (ast.Attribute, ast.Subscript)):
            # ``a.x = 1`` and ``a[i] = 1`` change ``a``: read it, and bring it back.
            self.expr(node)
            root = _root_name(node)
            if root is not None:
                self.writes.pop(root, None)
                self.writes[root] = None

    def delete_target(self, node: ast.expr) -> None:
        if isinstance(node, ast.Name):
            self.delete(node.id)
        elif isinstance(node, (ast.Tuple, ast.List)):
            for element in node.elts:
                self.delete_target(element)
        else:
            self.target(node)

    # -- expressions ----------------------------------------------------------------

    def exprs(self, nodes: Iterable[ast.expr | None]) -> None:
        for node in nodes:
            self.expr(node)

    def expr(self, node: ast.expr | None) -> None:
        if node is None:
            return
        if isinstance(node, ast.Name):
            self.read(node.id)
        elif isinstance(node, ast.Call):
            self.call(node)
        elif isinstance(node, ast.NamedExpr):
            self.expr(node.value)
            self.target(node.target)
        elif isinstance(node, ast.Lambda):
            self.arguments(node.args)
            self.free(sorted(free_names(node)), node)
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            # The first iterable runs in this scope; the rest runs in the comprehension's.
            self.expr(node.generators[0].iter)
            self.free(sorted(free_names(node)), node)
            for sub in ast.walk(node):
                if isinstance(sub, ast.NamedExpr) and isinstance(sub.target, ast.Name):
                    self.write(sub.target.id)
        else:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self.expr(child)
                elif isinstance(child, ast.keyword):
                    self.expr(child.value)
                elif isinstance(child, ast.comprehension):
                    self.expr(child.iter)

    def call(self, node: ast.Call) -> None:
        """A call may change the object it is a method of, and every object passed to it."""
        if isinstance(node.func, ast.Attribute):
            self.change(node.func.value)
        if not (isinstance(node.func, ast.Name) and node.func.id in PURE_BUILTINS):
            for arg in (*node.args, *(k.value for k in node.keywords)):
                self.change(arg.value if isinstance(arg, ast.Starred) else arg)
        self.expr(node.func)
        for arg in node.args:
            self.expr(arg)
        for keyword in node.keywords:
            self.expr(keyword.value)

    def arguments(self, args: ast.arguments) -> None:
        self.exprs(args.defaults)
        self.exprs(args.kw_defaults)
        for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
            if arg is not None:
                self.expr(arg.annotation)

    def free(self, names: Iterable[str], node: ast.AST | None = None) -> None:
        """Names a nested scope reads from the cell's globals; read now, to err towards sending.

        Calling the function may change what it changes of them, so those count as changed.
        """
        names = list(names)
        for name in names:
            self.read(name, direct=False)
        if node is not None:
            for name in changed_inside(node) & set(names):
                self.changes.setdefault(name, None)


def _root_name(node: ast.expr) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _declared_global(node: ast.AST) -> list[str]:
    return [name for sub in ast.walk(node) if isinstance(sub, ast.Global) for name in sub.names]


def _irrefutable(pattern: ast.pattern) -> bool:
    if isinstance(pattern, ast.MatchAs):
        return pattern.pattern is None or _irrefutable(pattern.pattern)
    if isinstance(pattern, ast.MatchOr):
        return any(_irrefutable(p) for p in pattern.patterns)
    return False
