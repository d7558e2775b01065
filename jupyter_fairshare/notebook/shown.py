"""How the magics' errors look in a notebook: as IPython shows a local error, nothing more.

IPython draws an exception with its ``_render_traceback_`` when it has one, instead of the
frames it passed through. A mistake the user can fix (a ``FairshareError``: no pool, no
credits, a variable that does not pickle) is shown as its one sentence, not under the frames
of the magic, the client and httpx; a remote exception is shown with the job's own traceback,
made by IPython in the job process, which names ``Cell In[n]`` as a local one would.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .. import wire
from ..client import errors
from .job import remote_exception

__all__ = ["CellSyntaxError", "UndefinedName", "shown_as_local", "shown_short", "syntax_error"]


@contextmanager
def shown_short() -> Iterator[None]:
    """Give a ``FairshareError`` raised inside a one-line rendering, keeping its type to catch."""
    try:
        yield
    except errors.FairshareError as exc:
        _render_as(exc, [f"{type(exc).__name__}: {exc}\n"])
        raise


def shown_as_local(outcome: wire.Outcome, job_id: str) -> BaseException:
    """The remote exception, rendered with the job's IPython traceback and nothing around it."""
    exc = remote_exception(outcome, job_id)
    if outcome.traceback:
        _render_as(exc, list(outcome.traceback))
    return exc


class UndefinedName(errors.FairshareError, NameError):
    """The cell reads a name nothing defines; refused before sending, as it would fail remotely."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"name {name!r} is not defined, here or earlier in the cell; define it, then run the cell again."
        )
        self.name = name


class CellSyntaxError(Exception):
    """A cell that does not parse, raised by the magic before anything is sent.

    It is not a ``SyntaxError`` subclass because IPython draws those with the frames of the
    magic that raised them; it is named ``SyntaxError`` so the kernel reports the error as a
    local cell's, and draws as IPython draws one (``Cell In[n], line k`` and a caret).
    """


CellSyntaxError.__name__ = CellSyntaxError.__qualname__ = "SyntaxError"


def syntax_error(shell: Any, exc: SyntaxError, source: str, raw: str) -> CellSyntaxError:
    """``exc`` as IPython shows a syntax error in the cell now running, to raise instead of it."""
    error = CellSyntaxError(exc.msg)
    try:
        exc.filename = shell.compile.cache(source, shell.execution_count, raw_code=raw)
        lines = list(shell.SyntaxTB.structured_traceback(type(exc), exc, []))
    except Exception:  # noqa: BLE001 - a shell without IPython's compiler still gets the message
        lines = traceback.format_exception_only(type(exc), exc)
    _render_as(error, lines)
    return error


def _render_as(exc: BaseException, lines: list[str]) -> None:
    try:
        exc._render_traceback_ = lambda: lines  # type: ignore[attr-defined]
    except AttributeError:  # an exception type with __slots__: IPython draws it its own way
        return
