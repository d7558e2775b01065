"""Which names a cell needs and which it produces, read from its AST without running it.

A cell is sent with the variables it reads before it (certainly) assigns them, and brings
back the variables it assigns. Reading the AST rather than diffing namespaces lets the
kernel send only what is needed, and lets it refuse an unpicklable variable by name before
anything leaves the machine.

The analysis errs towards sending: a name assigned in only one branch of an ``if``, in a
loop body or in a ``try`` is still sent if the namespace has it, because the remote run may
read it without the assignment happening. Extra inputs cost bytes; a missing one would
raise ``NameError`` on the worker.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import cloudpickle

from ..client.errors import NotSerializable
from .scope import Scope

__all__ = ["CellNames", "analyse", "check_serialisable", "select_inputs", "with_cell_magic", "with_line_magics"]


@dataclass(frozen=True)
class CellNames:
    """The names a cell reads first (``reads``), assigns (``writes``) and imports, in source order.

    ``changes`` are the names whose objects it may change in place or deletes, ``direct``
    the reads made by the cell's own statements (not by a function it defines, which may
    run after a later statement defines the name), ``bound`` every name it binds anywhere,
    ``modules`` the modules it imports.
    """

    reads: tuple[str, ...]
    writes: tuple[str, ...]
    imports: frozenset[str]
    changes: tuple[str, ...] = ()
    direct: tuple[str, ...] = ()
    bound: frozenset[str] = frozenset()
    modules: frozenset[str] = frozenset()

    def undefined(self, namespace: Mapping[str, object]) -> list[str]:
        """Names the cell certainly reads that nothing defines: not the namespace, not builtins,
        not the cell itself."""
        return [
            n for n in self.direct
            if n not in self.bound and n not in namespace and not hasattr(builtins, n)
        ]


def analyse(source: str) -> CellNames:
    """Analyse Python ``source`` (a cell after IPython's transforms); raises ``SyntaxError``."""
    tree = ast.parse(source)
    walker = Scope()
    walker.block(tree.body)
    imports = frozenset(walker.imports)
    reads = tuple(n for n in walker.reads if n not in imports)
    return CellNames(
        reads=reads,
        writes=tuple(walker.writes),
        imports=imports,
        changes=tuple(walker.changes),
        direct=tuple(walker.direct),
        bound=frozenset(walker.bound),
        modules=frozenset(walker.modules),
    )


def with_cell_magic(names: CellNames, cell: str, transform: Callable[[str], str]) -> CellNames:
    """``names`` widened by the body and options of a cell magic the cell starts with.

    A ``%%fairshare`` cell may start with another cell magic (``%%timeit setup``,
    ``%%capture out``); IPython turns it into one call with the body as a string, which
    reads nothing the AST can see. Its body and options are read as Python where they parse;
    only the body's certain reads are checked for being defined, since options need not be
    Python. ``%%capture NAME`` assigns NAME.
    """
    first, _, body = cell.lstrip().partition("\n")
    if not first.startswith("%%"):
        return names
    magic, _, line = first[2:].partition(" ")
    inner, options = _parsed([body], transform), _parsed(_tails(line), transform)
    captured = [w for w in line.split()[:1] if magic == "capture" and w.isidentifier()]
    every = (names, inner, options)
    return CellNames(
        reads=tuple(dict.fromkeys(n for part in every for n in part.reads)),
        writes=tuple(dict.fromkeys([*names.writes, *inner.writes, *captured])),
        imports=names.imports | inner.imports,
        changes=tuple(dict.fromkeys([*inner.changes, *options.changes])),
        direct=tuple(dict.fromkeys([*names.direct, *inner.direct])),
        bound=names.bound | inner.bound | options.bound | frozenset(captured),
        modules=names.modules | inner.modules | options.modules,
    )


def with_line_magics(names: CellNames, source: str) -> CellNames:
    """``names`` widened by the arguments of the line magics in ``source`` (transformed).

    ``%timeit f(x)`` becomes ``get_ipython().run_line_magic('timeit', 'f(x)')``, whose
    argument is a string to the AST; read as Python where it parses, it tells that the cell
    reads ``f`` and ``x`` (and ``%time y = f(x)`` assigns ``y``).
    """
    arguments = [
        node.args[1].value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        and node.func.attr == "run_line_magic" and len(node.args) == 2
        and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)
    ]
    if not arguments:
        return names
    found = [_parsed(_tails(text), lambda text: text) for text in arguments]
    return CellNames(
        reads=tuple(dict.fromkeys([*names.reads, *(n for part in found for n in part.reads)])),
        writes=tuple(dict.fromkeys([*names.writes, *(n for part in found for n in part.writes)])),
        imports=names.imports,
        changes=tuple(dict.fromkeys([*names.changes, *(n for part in found for n in part.changes)])),
        direct=names.direct,
        bound=names.bound.union(*(part.bound for part in found)),
        modules=names.modules.union(*(part.modules for part in found)),
    )


def _tails(line: str) -> list[str]:
    """``line`` less 0, 1, 2 ... leading words: options such as ``-n1 -r1`` come before code."""
    words = line.split()
    return [" ".join(words[i:]) for i in range(len(words))]


def _parsed(texts: list[str], transform: Callable[[str], str]) -> CellNames:
    """The names of the first of ``texts`` that parses; none if none does."""
    for text in texts:
        try:
            return analyse(transform(text))
        except SyntaxError:
            continue
    return CellNames((), (), frozenset())


def select_inputs(
    reads: Iterable[str], namespace: Mapping[str, object], hidden: Mapping[str, object] | None = None
) -> list[str]:
    """The read names to send: those the namespace has, less builtins and the shell's own names.

    A builtin the user rebound (``max = 3``) is sent; the shell's hidden names (``In``,
    ``get_ipython`` ...) are not unless the user rebound them too.
    """
    hidden = hidden or {}
    chosen = []
    for name in reads:
        if name not in namespace:
            continue
        value = namespace[name]
        if name in hidden and hidden[name] is value:
            continue
        if getattr(builtins, name, _MISSING) is value:
            continue
        chosen.append(name)
    return chosen


def check_serialisable(values: Mapping[str, object]) -> None:
    """Raise :class:`NotSerializable` naming the first variable that cloudpickle refuses."""
    for name, value in values.items():
        try:
            cloudpickle.dumps(value, protocol=5, buffer_callback=_discard)
        except Exception as exc:  # pickling raises anything: TypeError, PicklingError, custom
            raise NotSerializable(name, _type_name(value), str(exc).split("\n")[0]) from exc


_MISSING = object()


def _discard(_buffer: object) -> None:
    """Keeps out-of-band buffers out of the trial pickle, so checking does not copy arrays."""


def _type_name(value: object) -> str:
    cls = type(value)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
