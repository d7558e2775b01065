"""Running a job by a direct call to its worker, without the Dask scheduler in between.

The pool has already chosen the worker, so a scheduler round trip per job only adds
latency: the dispatcher opens a connection to the worker and calls :func:`run_job_direct`
through the worker's out-of-band ``run`` handler. The job still runs in its own process;
this coroutine waits for it in a thread so the worker's event loop stays free.
"""

from __future__ import annotations

import asyncio

from ..wire import EVENT_TOPIC
from . import jobprocess
from .runner import run_job


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
