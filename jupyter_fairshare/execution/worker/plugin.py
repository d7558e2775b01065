"""The worker's handlers: ``fairshare_run`` runs one job attempt, ``fairshare_kill`` stops one.

The pool has already chosen the worker, so a scheduler round trip per job only adds
latency: the dispatcher calls the worker's ``fairshare_run`` handler, which
:class:`DirectRuns` (a worker plugin the pool registers) installs. The job still runs in its
own process; :func:`run_job` waits for it in a thread so the worker's event loop stays free.

The handler takes the connection the call came on (distributed passes it to a handler whose
first argument is ``comm``) and writes on it, in order, every output and progress message as
the job produces them and then the report as its answer::

    pool -> worker   {"op": "fairshare_run", "job_id", "attempt", "payload", "limits"}
    worker -> pool   {"type": "output", "stream", "text"} | {"type": "progress", "done", "total"} ...
    worker -> pool   {"type": "report", **Report}   or   {"type": "error", "text"}

When the pool abandons a call (it closes its end), the job is stopped at its next message,
since no one is left to read its output or its report (a job that prints nothing runs to its
end: nothing here reads the connection while the job runs). The pool runs it again if it must.

A handler of our own rather than Dask's generic ``run``: ``run`` unpickles the function
and its arguments, inspects the function's signature twice and serialises the answer
field by field, which together cost more of the worker's CPU than running the job's
process did. Here the call and its messages are plain msgpack, and only a payload or result
large enough to be worth it travels as a separate frame.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from distributed import Worker, WorkerPlugin
from distributed.protocol.serialize import to_serialize

from ...protocol import Limits
from . import processes
from .runner import kill_job, run_job

HANDLER = "fairshare_run"
KILL_HANDLER = "fairshare_kill"
REPORT = "report"  # the ``type`` of the last message of a run, when it ended with a report
ERROR = "error"  # the ``type`` of the last message of a run, when our own code failed
FRAME_ABOVE = 1 << 16  # bytes: larger payloads and results go as frames of their own, not inside msgpack
log = logging.getLogger(__name__)


_as_frame: Callable[[bytes], Any] = to_serialize  # typed here: distributed leaves it untyped


class Connection(Protocol):
    """The part of distributed's ``Comm`` a run uses on either end, typed (distributed leaves it untyped)."""

    async def read(self) -> Any: ...

    async def write(self, msg: Any, on_error: str = ...) -> int: ...

    def abort(self) -> None: ...


def framed(blob: bytes | None) -> Any:
    """``blob`` as a call or an answer carries it: inline when small, a frame of its own when large."""
    return _as_frame(blob) if blob is not None and len(blob) > FRAME_ABOVE else blob


class DirectRuns(WorkerPlugin):
    """Installs the ``fairshare_run`` and ``fairshare_kill`` handlers on every worker of the pool's
    cluster, and tells each worker's zygote which modules to import ahead of jobs (``preload``).

    The scheduler hands a registered plugin to workers that join later too, so a node that
    joins gets the same preload as the embedded workers.
    """

    name = "fairshare-direct-runs"

    def __init__(self, preload: tuple[str, ...] | list[str] = processes.PRELOAD) -> None:
        self.preload = tuple(preload)

    def setup(self, worker: Worker) -> None:
        processes.configure(self.preload)
        worker.handlers[HANDLER] = fairshare_run
        worker.handlers[KILL_HANDLER] = fairshare_kill


async def fairshare_run(comm: Connection, job_id: str, attempt: int, payload: bytes, limits: Limits) -> dict[str, Any]:
    """Run the attempt, streaming its messages on ``comm``; the last message, which distributed writes.

    A failure of our own code is answered as such, to be reported, not retried.
    """
    stream = _Stream(comm, job_id, asyncio.get_running_loop())
    try:
        report = await asyncio.to_thread(run_job, job_id, attempt, payload, limits, emit=stream.emit)
    except Exception as exc:  # noqa: BLE001 - the pool reports it on the job
        log.exception("fairshare job %s attempt %d failed on this worker", job_id, attempt)
        last: dict[str, Any] = {"type": ERROR, "text": f"{type(exc).__name__}: {exc}"}
    else:
        last = {"type": REPORT, **report, "result": framed(report["result"])}
    finally:  # in the background: the report goes back while the reserve is refilled
        asyncio.get_running_loop().run_in_executor(None, processes.refill)
    await stream.drained()
    return last


async def fairshare_kill(job_id: str) -> dict[str, Any]:
    """Signals only, so it answers at once; the job's ``fairshare_run`` then reports it cancelled."""
    return {"status": "OK", "killed": kill_job(job_id)}


class _Stream:
    """Writes one run's live messages on its connection, in the order the job thread emitted them.

    ``emit`` is called from the thread that runs the job; each message is handed to the event
    loop, where one writer task sends them one after the other. The writer exists only while
    there is something to send, so a job without output costs nothing here.
    """

    def __init__(self, comm: Connection, job_id: str, loop: asyncio.AbstractEventLoop) -> None:
        self._comm = comm
        self._job_id = job_id
        self._loop = loop
        self._queue: deque[dict[str, Any]] = deque()
        self._writer: asyncio.Task[None] | None = None
        self._broken = False

    def emit(self, message: dict[str, Any]) -> None:
        """Queue a message from the job's thread."""
        self._loop.call_soon_threadsafe(self._push, message)

    def _push(self, message: dict[str, Any]) -> None:
        if self._broken:
            return
        self._queue.append(message)
        if self._writer is None:
            self._writer = self._loop.create_task(self._write())

    async def _write(self) -> None:
        try:
            while self._queue:
                await self._comm.write(self._queue.popleft())
        except OSError:  # the pool went away: no one will read this job's output or report
            self._broken = True
            self._queue.clear()
            kill_job(self._job_id, remember=False)
        finally:
            self._writer = None

    async def drained(self) -> None:
        """Wait until every message emitted so far is written.

        The job thread's last ``emit`` calls were handed to the loop before the thread
        returned, so by the time the handler awaits this they are all queued.
        """
        while self._writer is not None:
            await self._writer
