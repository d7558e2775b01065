"""Running a job by a direct call to its worker, without the Dask scheduler in between.

The pool has already chosen the worker, so a scheduler round trip per job only adds
latency: the dispatcher calls the worker's ``fairshare_run`` handler, which
:class:`DirectRuns` (a worker plugin the pool registers) installs. The job still runs in its
own process; :func:`run_job_direct` waits for it in a thread so the worker's event loop
stays free.

A handler of our own rather than Dask's generic ``run``: ``run`` unpickles the function
and its arguments, inspects the function's signature twice and serialises the answer
field by field, which together cost more of the worker's CPU than running the job's
process did. Here the call and its answer are plain msgpack, and only a payload or result
large enough to be worth it travels as a separate frame.
"""

from __future__ import annotations

import asyncio
import logging

from distributed import WorkerPlugin
from distributed.protocol import to_serialize

from ...wire import EVENT_TOPIC
from . import processes as jobprocess
from .runner import kill_job, run_job

HANDLER = "fairshare_run"
KILL_HANDLER = "fairshare_kill"
FRAME_ABOVE = 1 << 16  # bytes: larger payloads and results go as frames of their own, not inside msgpack
log = logging.getLogger(__name__)


def framed(blob: bytes | None):
    """``blob`` as a call or an answer carries it: inline when small, a frame of its own when large."""
    return to_serialize(blob) if blob is not None and len(blob) > FRAME_ABOVE else blob


class DirectRuns(WorkerPlugin):
    """Installs the ``fairshare_run`` and ``fairshare_kill`` handlers on every worker of the pool's cluster."""

    name = "fairshare-direct-runs"

    def setup(self, worker) -> None:
        async def fairshare_run(job_id: str, attempt: int, payload: bytes, limits: dict) -> dict:
            """A failure of our own code is answered as such, to be reported, not retried."""
            try:
                report = await run_job_direct(job_id, attempt, payload, limits, worker)
            except Exception as exc:  # noqa: BLE001 - the pool reports it on the job
                log.exception("fairshare job %s attempt %d failed on this worker", job_id, attempt)
                return {"status": "error", "text": f"{type(exc).__name__}: {exc}"}
            return {"status": "OK", **report, "result": framed(report["result"])}

        async def fairshare_kill(job_id: str) -> dict:
            """Signals only, so it answers at once; the job's ``fairshare_run`` then reports it cancelled."""
            return {"status": "OK", "killed": kill_job(job_id)}

        worker.handlers[HANDLER] = fairshare_run
        worker.handlers[KILL_HANDLER] = fairshare_kill


async def run_job_direct(job_id: str, attempt: int, payload: bytes, limits: dict, dask_worker=None) -> dict:
    """``run_job`` on the worker that received the call; events go to its event log.

    The report counts the events sent, because they travel through the scheduler while the
    report comes straight back: the pool waits for that many before it settles the job, so
    output is never dropped or shown after the end.
    """
    sent = 0

    def emit(message: dict) -> None:
        nonlocal sent
        sent += 1
        dask_worker.log_event(EVENT_TOPIC, message)

    loop = asyncio.get_running_loop()
    try:
        report = await asyncio.to_thread(run_job, job_id, attempt, payload, limits, emit=emit)
    finally:  # in the background: the report goes back while the reserve is refilled
        loop.run_in_executor(None, jobprocess.refill)
    return {**report, "events": sent}
