"""What the pool shows: a job with its standing, listings, why a job waits, public figures.

Views only read: the store for what is settled, the job book for what is live (so a queued
job's position or a running job's cost so far need no store write). Positions are exact
while the queue is short; past ``LIVE_STANDINGS`` jobs a periodic snapshot answers instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from ..protocol import EventType, JobState
from .errors import NoResult, NotFound
from .lifecycle import JobBook
from .policy import Node, Standing
from .store import accounts as account_store
from .store import jobs as job_store
from .store import reservations as reservation_store
from .store.events import Event
from .store.stats import published

LIVE_STANDINGS = 50  # queue length up to which positions are computed per request
OUTPUT_GRACE = 0.1  # seconds a job that printed may take to end before a ?wait answer lets its output stream


class Views:
    """Read-only answers about jobs, the queue and the sites."""

    def __init__(self, engine: Engine, book: JobBook, nodes: Callable[[], list[Node]]) -> None:
        self.engine = engine
        self.book = book
        self.scheduler = book.scheduler
        self.billing = book.billing
        self._nodes = nodes
        self._snapshot: dict[str, Standing] = {}
        self._snapshot_due = 0.0

    # -- one job --------------------------------------------------------------------------

    def view(self, job_id: str, account: int) -> dict[str, Any]:
        """The job as its owner sees it, with what only the live pool knows."""
        row = job_store.row(self.engine, job_id, account)
        if row is None:
            raise NotFound(f"No job {job_id} in your account; list yours with `%fairshare jobs` or GET /api/v1/jobs.")
        return self.with_standing(job_store.public(row, self.book.live.get(job_id)), time.time())

    async def wait(self, job_id: str, account: int, seconds: float) -> dict[str, Any]:
        """The job once it ends or ``seconds`` pass. A short job that ended meanwhile also
        carries its output and (small) result inline: the whole round trip in one request.

        A job that prints gets ``OUTPUT_GRACE`` more to end; if it runs on, the answer goes
        back at once, so that the caller streams its output as it is printed rather than
        seeing it only when ``seconds`` have passed.
        """
        job = self.book.live.get(job_id)
        if job is not None and job.account == account and seconds > 0:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + seconds
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(deadline):
                    await job.news.wait()
                async with asyncio.timeout_at(min(deadline, loop.time() + OUTPUT_GRACE)):
                    await job.ended.wait()
        if job is not None and job.account == account and job.final is not None:
            return {**job.final, "inline": job.inline}  # just settled: no store read needed
        return self.view(job_id, account)

    def with_standing(self, out: dict[str, Any], now: float) -> dict[str, Any]:
        """Add what only the live pool knows: position and expected start, cost so far."""
        job_id = out["id"]
        deferred = self.book.deferred.get(job_id)
        if out["state"] == JobState.QUEUED and deferred is not None and deferred.greener is not None:
            out.update(expected_start=deferred.greener["start_at"], greener_window=deferred.greener)
        elif out["state"] == JobState.QUEUED:
            standing = self.standing(job_id, now)
            if standing is not None:
                out.update(position=standing.position, queue_length=standing.queue_length,
                           expected_start=standing.expected_start)
        elif out["state"] == JobState.RUNNING:
            live = self.book.live.get(job_id)
            if live is not None and live.started_at:
                out["cost"] = self.billing.cost_so_far(live, now)
        return out

    def listing(self, account: int, state: str | None, limit: int) -> list[dict[str, Any]]:
        """An account's jobs, newest first."""
        now = time.time()
        return [self.with_standing(job_store.public(row, self.book.live.get(row["id"])), now)
                for row in job_store.listing(self.engine, account, state, limit)]

    def result(self, job_id: str, account: int) -> bytes:
        """A settled job's result blob."""
        job = self.view(job_id, account)
        if job["state"] not in (JobState.DONE, JobState.FAILED):
            raise NoResult(f"Job {job_id} is {job['state']} and has no result; wait for it to finish.")
        data = job_store.result(self.engine, job_id)
        if data is None:
            raise NoResult(f"Job {job_id} ended with {job['reason'] or job['state']} and left no result; "
                           "see its error.")
        return data

    def why(self, job_id: str, account: int) -> dict[str, Any]:
        """Why a job waits: its priority components and what is ahead of it."""
        job = self.view(job_id, account)
        if job_id in self.book.deferred:
            return {"position": None, "queue_length": self.scheduler.queued_count, "state": JobState.QUEUED.value,
                    "expected_start": job["expected_start"], "components": {}, "ahead": [],
                    "greener_window": job["greener_window"]}
        if job["state"] != JobState.QUEUED:
            return {"position": None, "queue_length": self.scheduler.queued_count, "expected_start": None,
                    "components": {}, "ahead": [], "state": job["state"]}
        return {**self.scheduler.why(job_id, time.time()), "state": JobState.QUEUED.value}

    # -- standings ------------------------------------------------------------------------

    def standing(self, job_id: str, now: float) -> Standing | None:
        """A queued job's position and expected start.

        Exact while the queue is small; past ``LIVE_STANDINGS`` jobs a full recomputation
        costs too much per request, so the run loop's periodic snapshot answers instead.
        """
        if self.scheduler.queued_count <= LIVE_STANDINGS:
            return self.scheduler.standing(job_id, now)
        return self._snapshot.get(job_id)

    def position_event(self, job_id: str) -> Event | None:
        """The job's standing now as a transient ``queued`` event, for a listener that just joined."""
        job = self.book.live.get(job_id)
        if job is None or job.state is not JobState.QUEUED:
            return None
        standing = self.standing(job_id, time.time())
        if standing is None:
            return None
        return Event(0, job_id, job.account, EventType.QUEUED.value, _standing_data(standing))

    def refresh_standings(self, now: float) -> None:
        """Recompute every standing (at most as often as costs 10x its own time) and tell
        the listeners of each job whose position changed."""
        if now < self._snapshot_due or not (self.scheduler.queued_count or self._snapshot):
            return
        begun = time.perf_counter()
        previous, self._snapshot = self._snapshot, self.scheduler.standings(now)
        hub = self.book.hub
        listened = hub.listened_accounts()
        for job_id, standing in self._snapshot.items():
            job = self.book.live.get(job_id)
            if job is None:
                continue
            self.book.predicted(job, standing.expected_start - job.submitted_at, standing.uncertainty)
            before = previous.get(job_id)
            if (job.account in listened or hub.listened(job_id)) and (
                    before is None or before.position != standing.position):
                hub.transient(job_id, job.account, EventType.QUEUED, _standing_data(standing))
        self._snapshot_due = now + max(0.2, 10 * (time.perf_counter() - begun))

    # -- public ---------------------------------------------------------------------------

    def account(self, account: int) -> dict[str, Any]:
        """An account's tier, shares, credits, holds and usage."""
        with self.engine.connect() as connection:
            return account_store.by_id(connection, account)

    def public_sites(self) -> dict[str, Any]:
        """Sites with their capacity, free capacity and carbon intensity now."""
        now = time.time()
        nodes = self._nodes()
        used: dict[str, float] = {}
        for job in self.book.live.values():
            if job.state is JobState.RUNNING and job.node:
                used[job.node] = used.get(job.node, 0.0) + job.cpus
        out = []
        for name, site in self.billing.sites.items():
            mine = [n for n in nodes if n.site == name]
            cpus = sum(n.cpus for n in mine)
            busy = sum(used.get(n.name, 0.0) for n in mine)
            out.append({
                "name": name, "workers": len(mine), "cpus": cpus, "free_cpus": cpus - busy,
                "memory": sum(n.memory for n in mine), "gpus": sum(n.gpus for n in mine),
                "carbon_intensity": site.carbon.intensity(now), "carbon_source": site.carbon.spec,
                "price_version": self.billing.prices[name].version,
            })
        return {"sites": out, "payload_limit": self.book.config.payload_limit}

    def public_queue(self) -> dict[str, Any]:
        """The queue, anonymised, with every job's priority components."""
        return {"queue": self.scheduler.queue_view(time.time()), "running": self.scheduler.running_count}

    def public_stats(self) -> dict[str, Any]:
        """Wait percentiles, acceptance rates and utilisation per tier and site."""
        sites = self.public_sites()["sites"]
        capacity = sum(s["cpus"] for s in sites)
        with self.engine.connect() as connection:
            return published(connection, time.time(), capacity, capacity - sum(s["free_cpus"] for s in sites))

    def public_reservations(self) -> dict[str, Any]:
        """The public record of reserved or exclusive capacity."""
        return {"reservations": reservation_store.listing(self.engine)}

    def spool_info(self) -> dict[str, Any]:
        """Where a client on the pool's own host may write a large payload instead of uploading it."""
        self.book.spool.mkdir(parents=True, exist_ok=True)
        return {"path": str(self.book.spool), "host": socket.gethostname(),
                "threshold": self.book.config.spool_threshold}


def _standing_data(standing: Standing) -> dict[str, Any]:
    return {"state": JobState.QUEUED.value, "position": standing.position, "queue_length": standing.queue_length,
            "expected_start": standing.expected_start, "uncertainty": standing.uncertainty}
