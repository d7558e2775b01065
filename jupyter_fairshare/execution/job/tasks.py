"""Running the three task kinds inside a job process, each ending in an ``Outcome``.

This module runs user code in the current process; the job process (``child``) is the only
caller, so that user code never runs in a Dask worker or in the pool.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from typing import Any

import cloudpickle
from IPython.core.interactiveshell import InteractiveShell
from IPython.core.ultratb import FormattedTB

from jupyter_fairshare.wire import CallTask, CellTask, GraphTask, Outcome

from .display import figure_bundles
from .namespace import adopt
from .shell import SHELL, JobShell

_OWN_DIR = os.path.dirname(os.path.abspath(__file__))

ProgressFn = Callable[[int, int], None]


def run_task(task: Any, threads: int = 1, progress: ProgressFn | None = None) -> Outcome:
    """Run one task and describe what happened; user exceptions become a failed Outcome.

    A call's or a graph's warnings are recorded into the Outcome, so that the caller's
    ``Job.result()`` issues them again where ``pytest.warns`` or a warnings filter sees them;
    a cell's stay on its stderr, which is where a local cell shows them.
    """
    if isinstance(task, CellTask):
        return _run_task(task, threads, progress)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outcome = _run_task(task, threads, progress)
    outcome.warnings = [{"category": w.category, "message": str(w.message), "filename": w.filename,
                         "lineno": w.lineno} for w in caught]
    return outcome


def _run_task(task: Any, threads: int, progress: ProgressFn | None) -> Outcome:
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
    return Outcome(
        ok=False,
        error_type=type(exc).__name__,
        error_message=str(exc),
        traceback="\n".join(lines).splitlines(),
        exception=exc if _pickles(exc) else None,
    )


def _is_own(filename: str) -> bool:
    return os.path.dirname(os.path.abspath(filename)) == _OWN_DIR


def run_cell(task: CellTask) -> Outcome:
    """Execute a cell as IPython does, in the job's shell with ``task.inputs`` bound.

    What the cell may have changed comes back also when it raised (what it assigned before
    the exception), with the inputs it deleted; the value comes back as ``value`` for the
    kernel to show, None when IPython would show nothing (``;``, no expression at the end).
    """
    shell = SHELL
    shell.fresh(task.execution_count, task.colors)
    namespace = shell.user_ns
    inputs = dict(task.inputs)
    adopt(inputs, namespace, fill=True)
    namespace.update(inputs)
    if task.rc is not None:
        apply_rc(task.rc)
    lent = {cls: cls._instance for cls in (InteractiveShell, JobShell)}
    InteractiveShell._instance = JobShell._instance = shell
    try:
        result = shell.run_cell(task.source, store_history=True)
    finally:
        for cls, instance in lent.items():
            cls._instance = instance
    bundles = shell.publisher.bundles
    value_at = len(bundles) if shell.value_at is None else shell.value_at
    bundles += figure_bundles()
    outputs = {name: namespace[name] for name in task.outputs if name in namespace}
    deleted = [name for name in task.outputs if name in task.inputs and name not in namespace]
    shown = dict(outputs=outputs, deleted=deleted, displays=bundles, value_at=value_at)
    error = result.error_before_exec or result.error_in_exec
    if error is None:
        return Outcome(ok=True, value=result.result, **shown)
    return Outcome(
        ok=False,
        error_type=type(error).__name__,
        error_message=str(error),
        traceback=shell.error_text,
        exception=error if _pickles(error) else None,
        **shown,
    )


def apply_rc(rc: dict[str, Any]) -> None:
    """Give matplotlib the kernel's settings: its defaults, then what the kernel changed."""
    import matplotlib

    params = matplotlib.rcParams
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        changed = {
            key: default
            for key, default in matplotlib.rcParamsDefault.items()
            if key not in rc and key not in _RC_KEPT and params.get(key) != default
        }
        params.update({**changed, **rc})


_RC_KEPT = frozenset({"backend", "backend_fallback", "interactive"})


def _pickles(exc: BaseException) -> bool:
    try:
        cloudpickle.dumps(exc)
    except Exception:  # noqa: BLE001 - an exception that does not pickle still reports as text
        return False
    return True


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

