"""The run loop: start what the policy says, on the worker it chose, and follow each attempt.

The policy alone decides who runs next (Dask never queues our jobs: a job is handed to a
worker only when the policy found room on it). Each cycle the loop re-reads the cluster
(new workers are new capacity, jobs of lost ones go back in the queue unbilled), ticks the
cost of running jobs, releases deferred jobs whose greener window came, and refreshes the
queue's standings. The dispatcher does the Dask I/O; the job book records every change.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from ..protocol import EventType, JobState, Limits, Report, StopReason
from .dispatcher import Dispatcher, WorkerError, WorkerLost, on_this_host
from .lifecycle import JobBook
from .live import LiveJob
from .policy import SiteState, Start

log = logging.getLogger(__name__)
TICK = 1.0  # seconds between looks at the cluster
CARBON_EVERY = 60.0  # seconds between updates of the sites' carbon intensity for placement
CANCEL_GRACE = 2.0  # seconds a cancel waits for the killed job to report
NOTEBOOKS = 10_000  # notebooks whose last node the loop remembers, the least recent forgotten first


class Runner:
    """Drives jobs from the queue onto workers and back into the book."""

    def __init__(self, book: JobBook, dispatcher: Dispatcher, payload: Callable[[str], bytes | Path],
                 refresh_standings: Callable[[float], None]) -> None:
        """``payload(job_id)`` reads a payload the book did not keep in memory; ``refresh_standings(now)``
        recomputes the queue's positions (the views' snapshot) each cycle."""
        self.book = book
        self.dispatcher = dispatcher
        self._payload = payload
        self._refresh_standings = refresh_standings
        self._tasks: set[asyncio.Task[Any]] = set()
        self._calls: dict[str, asyncio.Future[Report]] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self._carbon_at = 0.0
        # (account, notebook) -> the node that ran the notebook's last cell: placement tries
        # it first, since its worker keeps the process with the modules that cell left. A
        # kernel outside Jupyter names no notebook; its jobs go by the account's last node.
        self._last_node: dict[tuple[int, str | None], str] = {}
        book.scheduler.set_affinity(self._preferred_node)

    async def start(self) -> None:
        await self.dispatcher.start()
        await self.refresh(time.time(), force=True)
        self._loop_task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        tasks = [t for t in (self._loop_task, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.dispatcher.stop()

    async def _loop(self) -> None:
        last_tick = 0.0
        wake = self.book.wake
        while True:
            try:
                await asyncio.wait_for(wake.wait(), timeout=TICK / 4)
            except TimeoutError:
                pass
            wake.clear()
            now = time.time()
            try:
                if now - last_tick >= TICK:
                    last_tick = now
                    # A call to a worker that died fails at once and refreshes the nodes
                    # itself; this catches joins and quiet losses.
                    await self.refresh(now)
                    await self._requeue_lost(now)
                    self._tick_costs(now)
                    self.book.release_deferred(now)
                self.dispatch(now)
                self._refresh_standings(now)
            except asyncio.CancelledError:
                raise
            except Exception:  # the loop must outlive any one bad cycle
                log.exception("dispatch cycle failed")

    async def refresh(self, now: float, force: bool = False) -> None:
        """Tell the scheduler about the workers (when they changed) and the sites' carbon (each minute)."""
        changed = await self.dispatcher.refresh()
        if changed or force or now - self._carbon_at > CARBON_EVERY:
            self._carbon_at = now
            self.book.scheduler.set_nodes(self.dispatcher.nodes(), self.site_states(now))

    def site_states(self, now: float) -> dict[str, SiteState]:
        billing = self.book.billing
        return {name: SiteState(name, site.carbon.intensity(now), billing.prices[name].unit("cpu_second"))
                for name, site in billing.sites.items()}

    def dispatch(self, now: float) -> None:
        """Start what the policy says can start now.

        Called by the loop each cycle and straight from an admission: a job that finds a
        free worker starts in the request that brought it, not one loop wake-up later.
        """
        for start in self.book.scheduler.decide(now):
            self._spawn(self._run(start))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _requeue_lost(self, now: float) -> None:
        for job in list(self.book.live.values()):
            if job.state is JobState.RUNNING and job.node and not self.dispatcher.has(job.node):
                call = self._calls.pop(job.id, None)
                if call is not None:
                    call.cancel()
                await self.book.requeue(job, job.attempt, "worker lost", now)

    def _tick_costs(self, now: float) -> None:
        for job in self.book.live.values():
            if job.state is JobState.RUNNING and job.started_at:
                self.book.hub.transient(job.id, job.account, EventType.COST,
                                        {"cost": self.book.billing.cost_so_far(job, now), "max_cost": job.max_cost})

    async def _run(self, start: Start) -> None:
        book = self.book
        job = book.live.get(start.job)
        if job is None:
            book.scheduler.finished(start.job, 0.0, time.time())
            return
        attempt = book.start(job, start.site, start.node, time.time())
        self._note_node(job, start.node)
        try:
            payload, limits = await self._prepare(job, start)
        except Exception as exc:  # the pool's own failure must end the job, not leave it running
            log.exception("job %s attempt %d could not be started", job.id, attempt)
            book.record_start(job)  # the settlement below ends a stored start
            await book.fail(job, attempt, StopReason.WORKER_ERROR,
                            f"The pool could not start the job ({type(exc).__name__}: {exc}); "
                            "report this to the pool's operator.")
            return
        call = asyncio.ensure_future(self.dispatcher.run(
            start.node, job.id, attempt, payload, limits,
            on_output=lambda data: book.output(job, attempt, data),
            on_progress=lambda done, total: book.progress(job, attempt, done, total)))
        # Stored after the call's first step has sent the job (callbacks run in order).
        asyncio.get_running_loop().call_soon(book.record_start, job)
        self._calls[job.id] = call
        del payload
        try:
            report = await call
        except asyncio.CancelledError:
            if book.current(job, attempt) and not call.cancelled():
                raise
            return
        except WorkerError as exc:  # our worker-side code failed on this job: running it again won't help
            log.error("job %s attempt %d failed on its worker: %s", job.id, attempt, exc)
            await book.fail(job, attempt, StopReason.WORKER_ERROR,
                            f"The worker could not run the job ({exc}); report this to the pool's operator.")
            return
        except WorkerLost as exc:  # the worker or the connection to it broke: run it again
            log.warning("job %s attempt %d lost: %s", job.id, attempt, exc)
            await self.refresh(time.time())
            await book.requeue(job, attempt, f"worker lost: {exc}", time.time())
            return
        finally:
            if self._calls.get(job.id) is call:
                del self._calls[job.id]
        await book.finish(job, attempt, report)

    def _preferred_node(self, job_id: str) -> str | None:
        """The node that ran the previous cell of this job's notebook, for placement to try first."""
        job = self.book.live.get(job_id)
        return None if job is None else self._last_node.get((job.account, job.notebook))

    def _note_node(self, job: LiveJob, node: str) -> None:
        key = (job.account, job.notebook)
        self._last_node.pop(key, None)  # re-inserted last: the dict is oldest first
        self._last_node[key] = node
        if len(self._last_node) > NOTEBOOKS:
            del self._last_node[next(iter(self._last_node))]

    async def _prepare(self, job: LiveJob, start: Start) -> tuple[bytes, Limits]:
        """The payload to send and the limits to run it under."""
        stored: bytes | Path | None
        stored, job.payload = job.payload, None
        if stored is None:
            stored = await asyncio.to_thread(self._payload, job.id)
        wall_seconds, wall_reason = self.book.billing.wall_limit(job, start.site)
        limits: Limits = {"cpus": job.cpus, "memory": job.memory, "wall_seconds": wall_seconds,
                          "wall_reason": wall_reason.value, "account_key": self.dispatcher.account_key(job.account)}
        if job.notebook is not None:  # the worker keeps a process per account and notebook
            limits["notebook_key"] = self.dispatcher.notebook_key(job.account, job.notebook)
        if isinstance(stored, Path):
            if on_this_host(start.node):  # the job process maps the spool file itself
                limits["payload_path"] = str(stored)
                return b"", limits
            return await asyncio.to_thread(stored.read_bytes), limits
        return stored, limits

    async def stop_job(self, job: LiveJob) -> None:
        """Stop a running job's process; its worker then reports it cancelled (billed to now).

        If the worker cannot be reached, the attempt is abandoned and the job ends cancelled.
        """
        if job.node is None:
            return
        attempt = job.attempt
        self.book.request_cancel(job)
        try:
            await self.dispatcher.kill(job.node, job.id)
        except (WorkerLost, WorkerError) as exc:
            log.warning("job %s could not be stopped on its worker (%s); abandoning it", job.id, exc)
            call = self._calls.pop(job.id, None)
            if call is not None:
                call.cancel()
            await self.book.abandon(job, attempt)
            return
        try:
            await asyncio.wait_for(job.ended.wait(), timeout=CANCEL_GRACE)
        except TimeoutError:
            log.warning("job %s did not stop within %.0f s of its cancel", job.id, CANCEL_GRACE)
