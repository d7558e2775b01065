"""The job book: the one writer of a live job's state.

A job's life (see ``protocol.py``)::

    admitted ─► queued (or deferred to a greener window) ─► running ─► done | failed | cancelled
                  ▲                                            │
                  └───────────── requeued (worker lost) ◄──────┘

Every transition is written to the store through the group-commit writer as a conditional
update that says whether it happened (``store/jobs.py``). A start is recorded without being
waited for (``record_start`` says why); every other change is applied in memory and published
only once it committed. So a late report for an attempt that was already re-queued or
cancelled changes nothing, and what listeners see is never something a crash takes back.
The run loop (``running.py``) and the admission (``admission.py``) drive the book; the views
only read it.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, RowMapping

from .. import spoolfiles
from ..protocol import EventType, JobState, Report, StopReason
from .billing import Billing
from .carbon import greener_start
from .config import PoolConfig
from .hub import Hub
from .live import LiveJob
from .policy import Scheduler
from .store import jobs as job_store
from .store.events import Event, record
from .store.writer import Writer

EXPECTED_RUN = 60.0  # seconds a deadline job is assumed to need when choosing its window
INLINE_LIMIT = 64 * 1024  # output and result this small come back with a ?wait answer


class JobBook:
    """The live jobs (queued, deferred, running) and every change they go through."""

    def __init__(self, config: PoolConfig, writer: Writer, hub: Hub, scheduler: Scheduler, billing: Billing,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self.writer = writer
        self.hub = hub
        self.scheduler = scheduler
        self.billing = billing
        self.live: dict[str, LiveJob] = {}
        self.deferred: dict[str, LiveJob] = {}  # queued jobs waiting for a greener window
        self.wake = asyncio.Event()  # set when the run loop should look again (a job ended or came back)

    @property
    def spool(self) -> Path:
        return self.config.data_dir / "spool"

    # -- into the queue -------------------------------------------------------------------

    def recover(self, connection: Connection, rows: Sequence[RowMapping], now: float) -> None:
        """Take back the jobs a stopped pool left: running attempts go back in the queue, unbilled."""
        for row in rows:
            job = live_from_row(row)
            if row["state"] == JobState.RUNNING:
                job_store.requeue(connection, job, row["attempt"], "pool restarted")
            self.live[job.id] = job
        for job in self.live.values():
            self.queue(job, now)

    def admitted(self, job: LiveJob, event: Event, now: float) -> None:
        """A job the store has just accepted joins the book and the queue."""
        self.live[job.id] = job
        self.queue(job, now)
        self.hub.publish(event)

    def queue(self, job: LiveJob, now: float) -> None:
        """Put a job in the fair-share queue, or hold it for a greener window its deadline allows."""
        job.state = JobState.QUEUED
        if job.deadline is not None:
            sites = [self.billing.sites[job.site_request]] if job.site_request else list(self.billing.sites.values())
            window = greener_start(sites, now, job.deadline - EXPECTED_RUN)
            if window is not None:
                job.greener = {"start_at": window[0], "intensity_then": window[1], "intensity_now": window[2]}
                self.deferred[job.id] = job
                return
        job.greener = None
        self.scheduler.enqueue(job.queued())

    def release_deferred(self, now: float) -> None:
        """Jobs whose greener window has come join the queue."""
        for job in [j for j in self.deferred.values() if j.greener and j.greener["start_at"] <= now]:
            del self.deferred[job.id]
            job.greener = None
            self.scheduler.enqueue(job.queued())

    def predicted(self, job: LiveJob, wait: float, uncertainty: float | None) -> None:
        """Keep the first estimate of a job's wait, to publish how good the estimates are."""
        if job.predicted_wait is None:
            job.predicted_wait, job.predicted_uncertainty = max(wait, 0.0), uncertainty

    # -- running ------------------------------------------------------------------------

    def start(self, job: LiveJob, site: str, node: str, now: float) -> int:
        """The job runs from now on, as far as the book goes; its new attempt number.
        ``record_start`` stores it once the job is on its way."""
        job.state, job.attempt, job.site, job.node, job.started_at = JobState.RUNNING, job.attempt + 1, site, node, now
        job.rate = self.billing.rate(job, site)
        job.output, job.output_bytes, job.progress = [], 0, None
        return job.attempt

    def record_start(self, job: LiveJob) -> None:
        """Write the start; nobody waits for the commit.

        Waiting would put a commit on every job's critical path for nothing: the writes commit
        in order, so the start is stored before the job's settlement can be, and a pool killed
        in between re-queues the job on start (it runs again, completes once).
        """
        attempt, site, node, now = job.attempt, job.site or "", job.node or "", job.started_at or 0.0
        written = self.writer(lambda c: job_store.start(c, job, attempt, site, node, now))
        written.add_done_callback(self._started)

    def _started(self, written: asyncio.Future[Event | None]) -> None:
        event = written.result() if written.exception() is None else None
        if event is not None:  # None: the job left the queue meanwhile (cancelled)
            self.hub.publish(event)

    def current(self, job: LiveJob, attempt: int) -> bool:
        """Whether ``attempt`` is the job's running one (a late message of an older one is dropped)."""
        return job.attempt == attempt and job.state is JobState.RUNNING and self.live.get(job.id) is job

    def output(self, job: LiveJob, attempt: int, data: dict[str, Any]) -> None:
        """Store an output chunk of the running attempt and push it once it is committed."""
        if not self.current(job, attempt):
            return
        text = str(data.get("text") or "")
        chunk = {"stream": data.get("stream"), "text": text}
        job.output_bytes += len(text)
        if job.output is not None and job.output_bytes <= INLINE_LIMIT:
            job.output.append(chunk)
        else:
            job.output = None  # too much to send inline: the client replays the stored events
        written = self.writer(lambda c: record(c, job.id, job.account, EventType.OUTPUT, chunk))
        written.add_done_callback(lambda f: self._printed(job, f))

    def _printed(self, job: LiveJob, written: asyncio.Future[Event]) -> None:
        """Once an output chunk is stored: push it, and wake the ?wait requests waiting now
        (``news`` is then replaced, so a later request waits for later news only)."""
        if written.exception() is None:
            self.hub.publish(written.result())
            news, job.news = job.news, asyncio.Event()
            news.set()

    def progress(self, job: LiveJob, attempt: int, done: int, total: int) -> None:
        """The running attempt's progress; pushed, not stored (the next one supersedes it)."""
        if self.current(job, attempt):
            job.progress = {"done": done, "total": total}
            self.hub.transient(job.id, job.account, EventType.PROGRESS, job.progress)

    # -- out of the running state ---------------------------------------------------------

    def request_cancel(self, job: LiveJob) -> None:
        """Its owner cancelled a running job: its worker is told to stop it, and should that
        worker be lost instead, the job ends cancelled rather than running again."""
        job.cancel_requested = True

    async def requeue(self, job: LiveJob, attempt: int, reason: str, now: float) -> None:
        """Put a job whose worker was lost back in the queue, unbilled; fail it after too many tries."""
        if job.cancel_requested:
            await self.abandon(job, attempt)
            return
        if attempt >= self.config.max_attempts:
            await self.fail(job, attempt, StopReason.WORKER_LOST,
                            f"The job's worker was lost {attempt} times; it was not billed. Submit it again or "
                            "ask the pool's operator about the cluster.")
            return
        event = await self.writer(lambda c: job_store.requeue(c, job, attempt, reason))
        if event is None:
            return
        self.scheduler.finished(job.id, 0.0, now)
        job.site, job.node, job.started_at, job.progress = None, None, None, None
        self.queue(job, now)
        self.hub.publish(event)
        self.wake.set()

    async def fail(self, job: LiveJob, attempt: int, reason: StopReason, error: str) -> None:
        """End an attempt that failed through no fault of the job's, unbilled."""
        await self.finish(job, attempt, _unbilled(JobState.FAILED, reason, error), billed=False)

    async def abandon(self, job: LiveJob, attempt: int) -> None:
        """End a cancelled job whose worker could not be reached to stop it: cancelled, unbilled
        (without the worker's report there is no measured time to bill)."""
        await self.finish(job, attempt, _unbilled(JobState.CANCELLED, StopReason.CANCELLED, None), billed=False)

    async def finish(self, job: LiveJob, attempt: int, report: Report, billed: bool = True) -> None:
        """Settle an attempt from its worker's report: bill it, add its usage, store its result, once."""
        now = self.clock()
        state, reason, error = JobState(report["state"]), report["reason"], report["error"]
        if state is JobState.CANCELLED:
            reason = StopReason.CANCELLED
        bill = self.billing.bill(job, report, now) if billed else None
        usage = self.billing.usage(job, report) if billed else 0.0
        result = report["result"]
        half_life = self.config.policy.half_life
        event = await self.writer(lambda c: job_store.settle(c, job, attempt, state, reason, error, bill, result,
                                                             usage, half_life, now))
        if event is None:
            return
        self.scheduler.finished(job.id, usage, now)
        job.final = {**job.public(), "state": state.value, "reason": reason, "error": error, "finished_at": now,
                     "cost": bill["total"] if bill else 0.0, "bill": bill}
        small = base64.b64encode(result).decode("ascii") if result is not None and len(result) <= INLINE_LIMIT else None
        if job.output is not None and (result is None or small is not None):
            job.inline = {"output": job.output, "result": small}
        # A follower of the job's events gets a small result with the final one: no request after it.
        self._forget(job, state, event, {"inline": {"result": small}} if small is not None else None)

    async def cancel_queued(self, job: LiveJob, now: float) -> bool:
        """Cancel a job that has not started; nothing is charged. Whether it was still queued."""
        event = await self.writer(lambda c: job_store.cancel_queued(c, job, now))
        if event is None:
            return False
        if self.deferred.pop(job.id, None) is None:
            self.scheduler.remove(job.id)
        self._forget(job, JobState.CANCELLED, event)
        return True

    def _forget(self, job: LiveJob, state: JobState, event: Event, live: dict[str, Any] | None = None) -> None:
        if job.spooled:  # a final job needs its payload no more: kept for reuse or deleted, in a
            # thread, since the answer to the job's owner need not wait for either
            asyncio.get_running_loop().run_in_executor(None, spoolfiles.retire, self.spool / f"{job.id}.payload")
        job.state = state
        self.live.pop(job.id, None)
        self.hub.publish(event, live)
        job.ended.set()
        job.news.set()
        self.wake.set()


def _unbilled(state: JobState, reason: StopReason, error: str | None) -> Report:
    return {"state": state, "reason": reason, "error": error, "result": None, "cpu_seconds": 0.0,
            "wall_seconds": 0.0, "peak_memory": 0}


def live_from_row(row: RowMapping) -> LiveJob:
    """A stored queued or running job as the book holds it."""
    meta = row["meta"] or {}
    return LiveJob(
        id=row["id"], account=row["account_id"], account_name=row["account_name"], tier=row["tier"],
        name=row["name"], kind=row["kind"], cpus=row["cpus"], memory=row["memory"], gpus=row["gpus"],
        max_cost=row["max_cost"], hold=row["hold"], submitted_at=row["submitted_at"],
        site_request=row["site_request"], deadline=row["deadline"], attempt=row["attempt"],
        notebook=meta.get("notebook"), cell=meta.get("cell"), spooled=True,  # an unlink too many costs nothing
    )
