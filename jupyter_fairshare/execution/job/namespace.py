"""Functions and classes a cell defined, given back the namespace they were defined in.

cloudpickle sends a function of ``__main__`` by value, with a dict of just the globals it
uses, as they were when it was pickled. Unpickled, the function reads that private dict, not
the namespace: a later ``n = 1000`` in the notebook leaves a function that reads ``n`` seeing
the old value, where a local run sees the new one. Both ends therefore rebuild such functions
(and the methods of such classes) over the namespace they land in; on the job's side, the
globals a function carried are added to the namespace where it lacks them, since the cell did
not send them itself.
"""

from __future__ import annotations

import types
from collections.abc import MutableMapping
from typing import Any

__all__ = ["adopt"]


def adopt(values: MutableMapping[str, Any], namespace: dict[str, Any], fill: bool) -> None:
    """Rebuild the ``__main__`` functions and classes among ``values`` over ``namespace``.

    ``fill`` adds the globals they carried that ``namespace`` lacks (the job's side); without
    it, a function whose globals the namespace does not all have (``--out f`` without the
    helper ``f`` calls) keeps its own, so that it still runs.
    """
    for name, value in list(values.items()):
        if isinstance(value, types.FunctionType) and _foreign(value, namespace, fill):
            values[name] = _rebuilt(value, namespace, fill)
        elif isinstance(value, type) and value.__module__ == "__main__":
            for attr, member in list(vars(value).items()):
                function = member.__func__ if isinstance(member, (staticmethod, classmethod)) else member
                if isinstance(function, types.FunctionType) and _foreign(function, namespace, fill):
                    rebuilt = _rebuilt(function, namespace, fill)
                    setattr(value, attr, type(member)(rebuilt) if function is not member else rebuilt)


def _foreign(function: types.FunctionType, namespace: dict[str, Any], fill: bool) -> bool:
    """Whether ``function`` is a cell's, reads a private copy of globals, and can read ``namespace``."""
    if function.__module__ != "__main__" or function.__globals__ is namespace:
        return False
    return fill or all(key in namespace for key in function.__globals__ if not key.startswith("__"))


def _rebuilt(function: types.FunctionType, namespace: dict[str, Any], fill: bool) -> types.FunctionType:
    if fill:
        for key, value in function.__globals__.items():
            if not key.startswith("__"):
                namespace.setdefault(key, value)
    made = types.FunctionType(
        function.__code__, namespace, function.__name__, function.__defaults__, function.__closure__
    )
    made.__kwdefaults__ = function.__kwdefaults__
    made.__qualname__ = function.__qualname__
    made.__doc__ = function.__doc__
    made.__annotations__ = function.__annotations__
    made.__dict__.update(function.__dict__)
    made.__module__ = function.__module__
    return made
