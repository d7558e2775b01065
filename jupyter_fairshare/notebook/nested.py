"""Nested scopes in a cell: what a function, class, lambda or comprehension reads from the
cell's globals, and what calling it may change of them.

They run later than the statement that defines them (or many times), so the walker in
:mod:`.scope` treats their free names as reads at the definition, erring towards sending.
"""

from __future__ import annotations

import ast

__all__ = ["PURE_BUILTINS", "changed_inside", "free_names"]


def _root_name(node: ast.expr) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def changed_inside(node: ast.AST) -> set[str]:
    """Root names a nested scope may change in place: method calls, call arguments, stores."""
    found: set[str] = set()
    for sub in ast.walk(node):
        candidates: list[ast.expr] = []
        if isinstance(sub, ast.Call):
            if isinstance(sub.func, ast.Attribute):
                candidates.append(sub.func.value)
            if not (isinstance(sub.func, ast.Name) and sub.func.id in PURE_BUILTINS):
                candidates += [a.value if isinstance(a, ast.Starred) else a for a in sub.args]
                candidates += [k.value for k in sub.keywords]
        elif isinstance(sub, (ast.Attribute, ast.Subscript)) and isinstance(sub.ctx, (ast.Store, ast.Del)):
            candidates.append(sub)
        for candidate in candidates:
            root = _root_name(candidate)
            if root is not None:
                found.add(root)
    return found


# Builtins that leave their arguments as they are: passing a name to them changes nothing.
PURE_BUILTINS = frozenset(
    "abs all any ascii bin bool bytes callable chr complex dict dir divmod enumerate float format "
    "frozenset getattr hasattr hash hex id int isinstance issubclass iter len list max min oct ord "
    "pow print range repr reversed round set slice sorted str sum tuple type zip display".split()
)


_SCOPES = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.Lambda,
    ast.ClassDef,
    ast.ListComp,
    ast.SetComp,
    ast.GeneratorExp,
    ast.DictComp,
)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)


def _outer_parts(node: ast.AST) -> list[ast.AST]:
    """The parts of a nested scope that run in the enclosing scope (defaults, bases, ...)."""
    parts: list[ast.AST] = []
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        args = node.args
        parts += [*args.defaults, *(d for d in args.kw_defaults if d is not None)]
        if not isinstance(node, ast.Lambda):
            parts += [*node.decorator_list, *(a.annotation for a in _all_args(args) if a.annotation)]
            parts += [node.returns] if node.returns else []
    elif isinstance(node, ast.ClassDef):
        parts += [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]
    elif isinstance(node, _COMPREHENSIONS):
        parts.append(node.generators[0].iter)
    return parts


def _inner_parts(node: ast.AST) -> list[ast.AST]:
    """The parts of a nested scope that run in its own scope."""
    if isinstance(node, ast.Lambda):
        return [node.body]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return list(node.body)
    assert isinstance(node, _COMPREHENSIONS)
    first, *rest = node.generators
    parts: list[ast.AST] = [first.target, *first.ifs, *rest]
    return parts + ([node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt])


def _all_args(args: ast.arguments) -> list[ast.arg]:
    every = (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg)
    return [a for a in every if a is not None]


def free_names(node: ast.AST) -> set[str]:
    """Names a nested scope (function, lambda, class, comprehension) reads from outside it."""
    loads: set[str] = set()
    bound: set[str] = set()
    declared: set[str] = set()
    inner: set[str] = set()
    stack = _inner_parts(node)
    while stack:
        sub = stack.pop()
        if isinstance(sub, _SCOPES):
            inner |= free_names(sub)
            stack.extend(_outer_parts(sub))
            if not isinstance(sub, (ast.Lambda, *_COMPREHENSIONS)):
                bound.add(sub.name)
            continue
        if isinstance(sub, ast.Name):
            (loads if isinstance(sub.ctx, ast.Load) else bound).add(sub.id)
        elif isinstance(sub, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in sub.names if a.name != "*")
        elif isinstance(sub, (ast.Global, ast.Nonlocal)):
            declared.update(sub.names)
        elif isinstance(sub, ast.ExceptHandler) and sub.name:
            bound.add(sub.name)
        elif isinstance(sub, (ast.MatchAs, ast.MatchStar)) and sub.name:
            bound.add(sub.name)
        elif isinstance(sub, ast.MatchMapping) and sub.rest:
            bound.add(sub.rest)
        stack.extend(ast.iter_child_nodes(sub))
    params = set() if not hasattr(node, "args") else {a.arg for a in _all_args(node.args)}
    local = (bound | params) - declared
    if isinstance(node, ast.ClassDef):
        # Methods do not see the class body's names, so their free names all go outward.
        return (loads - local) | inner
    return (loads | inner) - local
