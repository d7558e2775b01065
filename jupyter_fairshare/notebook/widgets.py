"""Showing a job while it runs: an inline panel in a notebook, a status line in a terminal.

Views only draw: :meth:`.job.Job.follow` follows the job's event stream (so a view costs no
polling) and hands each view the job as it stands. A view knows nothing of the pool; the panel
needs only something it can cancel.

In a notebook the panel's Cancel button works while the kernel is idle (``--async`` jobs,
Dask graphs computed from a thread); while a cell blocks on its job, interrupting the kernel
cancels the job.
"""

from __future__ import annotations

import html
import sys
import time
from collections.abc import Callable
from typing import Any, Protocol

from ..client import errors
from ..protocol import FINAL_STATES, JobState

__all__ = ["Cancellable", "JobPanel", "StatusLine", "View", "format_status", "view_for"]


def _seconds(value: float) -> str:
    value = max(0.0, value)
    if value < 60:
        return f"{value:.1f} s" if value < 10 else f"{value:.0f} s"
    if value < 3600:
        return f"{value // 60:.0f} min {value % 60:.0f} s"
    return f"{value // 3600:.0f} h {value % 3600 // 60:.0f} min"


def format_status(info: dict[str, Any], now: float) -> str:
    """One line describing a job as ``info`` has it at time ``now`` (no request, no clock read)."""
    state = info.get("state", "submitted")
    parts = [f"job {info.get('id', '?')} {state}"]
    if state == JobState.QUEUED and info.get("position") is not None:
        parts.append(f"{info['position']} of {info.get('queue_length') or '?'} in the queue")
        if info.get("expected_start") is not None:
            parts.append(f"expected to start in {_seconds(info['expected_start'] - now)}")
    if info.get("site"):
        parts.append(f"at {info['site']}")
    started, finished = info.get("started_at"), info.get("finished_at")
    if started is not None:
        parts.append(f"{'ran' if finished else 'running for'} {_seconds((finished or now) - started)}")
    progress = info.get("progress")
    if progress and progress.get("total"):
        parts.append(f"{progress['done']}/{progress['total']} tasks")
    bill = info.get("bill")
    if bill:
        parts.append(f"cost {bill['total']:.4f} credits, {bill.get('co2e_g', 0.0):.2f} gCO2e")
    elif info.get("cost") is not None and info.get("max_cost") is not None:
        parts.append(f"cost {info['cost']:.4f} of max {info['max_cost']:.2f} credits")
    if info.get("error") and state in FINAL_STATES:
        parts.append(str(info["error"]))
    return ", ".join(parts)


class View(Protocol):
    """What :meth:`.job.Job.follow` drives: one update per event, one close at the end."""

    def update(self, info: dict[str, Any]) -> None: ...

    def close(self, info: dict[str, Any]) -> None: ...


class Cancellable(Protocol):
    """What the panel's Cancel button acts on: a job, as far as the panel needs one."""

    info: dict[str, Any]

    def cancel(self) -> bool: ...


class StatusLine:
    """Plain-text status for terminals: a line when the state changes, and a final one."""

    def __init__(self, stream: Any = None, clock: Callable[[], float] = time.time) -> None:
        self._stream = stream
        self._clock = clock
        self._state: str | None = None

    def _write(self, text: str) -> None:
        print(f"[fairshare] {text}", file=self._stream or sys.stderr, flush=True)

    def update(self, info: dict[str, Any]) -> None:
        if info.get("state") != self._state:
            self._state = info.get("state")
            self._write(format_status(info, self._clock()))

    def close(self, info: dict[str, Any]) -> None:
        self._write(format_status(info, self._clock()))


class JobPanel:
    """An ipywidgets panel: status text, a progress bar for graphs, and a Cancel button."""

    def __init__(self, job: Cancellable, clock: Callable[[], float] = time.time) -> None:
        import ipywidgets

        self._job = job
        self._clock = clock
        self.text = ipywidgets.HTML()
        self.bar = ipywidgets.IntProgress(min=0, max=1, value=0, layout={"display": "none"})
        self.cancel_button = ipywidgets.Button(description="Cancel", button_style="warning", icon="stop")
        self.cancel_button.on_click(self._cancel)
        self.widget = ipywidgets.HBox([self.text, self.bar, self.cancel_button])

    def show(self) -> JobPanel:
        """Display the panel in the current output area."""
        from IPython.display import display

        display(self.widget)
        return self

    def _cancel(self, _button: Any) -> None:
        try:
            cancelled = self._job.cancel()
        except errors.FairshareError as exc:
            self.text.value = html.escape(str(exc))
            return
        self.close(self._job.info)
        if not cancelled and self._job.info.get("state") not in FINAL_STATES:
            # A busy worker may take longer to stop than the pool waits before it answers.
            self.text.value += html.escape(", cancelling")

    def update(self, info: dict[str, Any]) -> None:
        self.text.value = html.escape(format_status(info, self._clock()))
        progress = info.get("progress") or {}
        if progress.get("total"):
            self.bar.layout.display = None
            self.bar.max, self.bar.value = progress["total"], progress.get("done", 0)

    def close(self, info: dict[str, Any]) -> None:
        self.update(info)
        self.cancel_button.disabled = True
        self.cancel_button.layout.display = "none"  # nothing left to cancel


def view_for(job: Cancellable) -> View | None:
    """A panel under a kernel with a frontend, a status line in terminal IPython, else nothing."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return None
    if getattr(shell, "kernel", None) is not None:
        return JobPanel(job).show()
    return StatusLine()
