"""Running the three task kinds inside a job process, each ending in an ``Outcome``.

This module runs user code in the current process; the job process (``child``) is the only
caller, so that user code never runs in a Dask worker or in the pool.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import linecache
import os
import time
from collections.abc import Callable
from typing import Any

import cloudpickle
from IPython.core.ultratb import FormattedTB

from jupyter_fairshare.wire import CallTask, CellTask, GraphTask, Outcome

from .display import DisplayCapture

_OWN_DIR = os.path.dirname(os.path.abspath(__file__))

ProgressFn = Callable[[int, int], None]


def run_task(task: Any, threads: int = 1, progress: ProgressFn | None = None) -> Outcome:
    """Run one task and describe what happened; user exceptions become a failed Outcome."""
    try:
        if isinstance(task, CallTask):
            return Outcome(ok=True, value=task.fn(*task.args, **task.kwargs))
        if isinstance(task, CellTask):
            return run_cell(task)
        if isinstance(task, GraphTask):
            return Outcome(ok=True, value=run_graph(task, threads, progress))
        raise TypeError(f"A fairshare job carries a {type(task).__name__}, which is not a task kind this worker runs; "
                        "update the worker's jupyter-fairshare.")
    except BaseException as exc:  # noqa: BLE001 - everything user code raises goes back to the user
        return failure(exc)


def failure(exc: BaseException, skip_own_frames: bool = True) -> Outcome:
    """A failed Outcome with IPython's plain-text traceback, without this package's frames."""
    tb = exc.__traceback__
    while skip_own_frames and tb is not None and _is_own(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    lines = FormattedTB(mode="Context", theme_name="nocolor").structured_traceback(type(exc), exc, tb)
    try:
        cloudpickle.dumps(exc)
        carried: BaseException | None = exc
    except Exception:  # noqa: BLE001 - an exception that does not pickle still reports as text
        carried = None
    return Outcome(
        ok=False,
        error_type=type(exc).__name__,
        error_message=str(exc),
        traceback="\n".join(lines).splitlines(),
        exception=carried,
    )


def _is_own(filename: str) -> bool:
    return os.path.dirname(os.path.abspath(filename)) == _OWN_DIR


def run_cell(task: CellTask) -> Outcome:
    """Execute a cell as IPython would: last expression's value shown, displays captured."""
    capture = DisplayCapture()
    capture.install()
    namespace: dict[str, Any] = {"__name__": "__main__", "display": capture.display, **task.inputs}
    source = task.source
    linecache.cache[task.name] = (len(source), None, source.splitlines(True), task.name)
    tree = ast.parse(source, filename=task.name)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    try:
        _run(compile(tree, task.name, "exec", flags=flags), namespace)
        value = None
        if last is not None:
            value = _run(compile(ast.Expression(last.value), task.name, "eval", flags=flags), namespace)
            if value is not None and not source.rstrip().endswith(";"):
                capture.bundles.append(capture.bundle(value))
    finally:
        capture.capture_figures()
    outputs = {name: namespace[name] for name in task.outputs if name in namespace}
    return Outcome(ok=True, value=value, outputs=outputs, displays=capture.bundles)


def _run(code: Any, namespace: dict[str, Any]) -> Any:
    result = eval(code, namespace)  # noqa: S307 - running the user's cell is the point
    if code.co_flags & inspect.CO_COROUTINE:
        result = asyncio.run(result)
    return result


def run_graph(task: GraphTask, threads: int, progress: ProgressFn | None) -> Any:
    """Compute a Dask graph here with the threaded scheduler, reporting tasks done/total."""
    from dask.callbacks import Callback
    from dask.threaded import get

    reporter = _GraphProgress(progress)
    with Callback(start_state=reporter.start, posttask=reporter.task_done, finish=reporter.finish):
        return get(task.dsk, task.keys, num_workers=max(1, threads))


class _GraphProgress:
    """Counts finished graph tasks; reports at most every 50 ms, and always at the end."""

    def __init__(self, progress: ProgressFn | None) -> None:
        self._progress = progress
        self.done = 0
        self.total = 0
        self._last = 0.0

    def start(self, dsk: Any, state: dict) -> None:
        self.total = len(state["ready"]) + len(state["waiting"])
        self._report(force=True)

    def task_done(self, key: Any, result: Any, dsk: Any, state: dict, worker_id: Any) -> None:
        self.done += 1
        self._report(force=False)

    def finish(self, dsk: Any, state: dict, failed: bool) -> None:
        self._report(force=True)

    def _report(self, force: bool) -> None:
        now = time.monotonic()
        if self._progress is not None and (force or now - self._last >= 0.05):
            self._last = now
            self._progress(self.done, self.total)

