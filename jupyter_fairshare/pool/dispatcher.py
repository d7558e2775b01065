"""The dispatcher: the only place jobs meet Dask.

It hands a job to Dask only when the policy found room for it on a worker, pinned to that
worker, so Dask never queues our jobs and the fair-share order alone decides who runs
next. It watches the cluster for workers that join (new capacity) and leave (their jobs
are re-queued and not billed), ticks the cost of running jobs, and turns each finished
attempt into a settlement. It never looks inside a payload or a result.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import secrets
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

from distributed import Client

from ..execution.worker import DirectRuns, framed, warm_up
from ..wire import COST, EVENT_TOPIC, OUTPUT, PROGRESS
from .jobs import LiveJob
from .policy import Node, SiteState, Start

log = logging.getLogger(__name__)
TICK = 1.0
SUSPECT_SECONDS = 10.0
EVENT_GRACE = 2.0  # seconds a finished job's last output may take to arrive via the scheduler


class WorkerError(Exception):
    """Our own code failed on the worker (not the user's code, not the connection)."""


def on_this_host(address: str) -> bool:
    """Whether a worker address is on the pool's own machine (so it can read the spool)."""
    host = urlsplit(address).hostname or ""
    return host in ("127.0.0.1", "localhost", "::1") or host in _own_addresses()


@functools.cache
def _own_addresses() -> frozenset[str]:
    name = socket.gethostname()
    try:
        return frozenset({name, *socket.gethostbyname_ex(name)[2]})
    except OSError:
        return frozenset({name})


def site_of(worker_name: str, default: str) -> str:
    """A worker named ``SITE/anything`` belongs to SITE; any other to the default site."""
    name = str(worker_name)
    return name.split("/", 1)[0] if "/" in name else default


class Dispatcher:
    def __init__(self, pool, client: Client) -> None:
        self.pool = pool
        self.client = client
        self.wake = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()
        self._loop_task: asyncio.Task | None = None
        self._workers: dict[str, dict] = {}
        self._futures: dict[str, object] = {}
        self._suspects: dict[str, float] = {}  # workers a direct call just failed to reach
        self._key = secrets.token_bytes(16)  # hides account names from workers, see account_key

    async def start(self) -> None:
        self.client.subscribe_topic(EVENT_TOPIC, self._on_worker_event)
        await self.client.register_plugin(DirectRuns())  # workers that join later get it too
        await self._refresh_nodes(time.time())
        self._loop_task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._loop_task:
            self._loop_task.cancel()
        for task in [self._loop_task, *self._tasks]:
            if task is None:
                continue
            task.cancel()
        await asyncio.gather(*[t for t in [self._loop_task, *self._tasks] if t], return_exceptions=True)

    def nodes(self) -> list[Node]:
        return [self._node(addr, info) for addr, info in self._workers.items()]

    async def _loop(self) -> None:
        last_tick = 0.0
        while True:
            try:
                await asyncio.wait_for(self.wake.wait(), timeout=TICK / 4)
            except TimeoutError:
                pass
            self.wake.clear()
            now = time.time()
            try:
                if now - last_tick >= TICK:
                    last_tick = now
                    # A call to a worker that died fails at once and refreshes the nodes
                    # itself; this catches joins and quiet losses.
                    await self._refresh_nodes(now)
                    await self._requeue_lost(now)
                    self._tick_costs(now)
                    self.pool.release_deferred(now)
                self.dispatch(now)
                self.pool.refresh_snapshot(now)
            except asyncio.CancelledError:
                raise
            except Exception:  # the loop must outlive any one bad cycle
                log.exception("dispatch cycle failed")

    def dispatch(self, now: float) -> None:
        """Start what the policy says can start now.

        Called by the loop each cycle and straight from an admission: a job that finds a
        free worker starts in the request that brought it, not one loop wake-up later.
        """
        for start in self.pool.scheduler.decide(now):
            self._spawn(self._run(start))

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _refresh_nodes(self, now: float) -> None:
        workers = dict((await self.client.scheduler.identity(n_workers=-1)).get("workers", {}))
        clock = time.monotonic()
        self._suspects = {a: until for a, until in self._suspects.items() if until > clock and a in workers}
        workers = {a: w for a, w in workers.items() if a not in self._suspects}
        known = {site.name for site in self.pool.sites.values()}
        workers = {a: w for a, w in workers.items() if site_of(w.get("name", ""), self.pool.default_site) in known}
        joined = workers.keys() - self._workers.keys()
        if joined:  # start their warm job processes now, not on their first job
            self._spawn(self.client.run(warm_up, workers=list(joined)))
        if workers.keys() != self._workers.keys() or now - getattr(self, "_carbon_at", 0) > 60:
            self._carbon_at = now
            self._workers = workers
            self.pool.scheduler.set_nodes(self.nodes(), self.site_states(now))

    def site_states(self, now: float) -> dict[str, SiteState]:
        return {
            name: SiteState(name, site.carbon.intensity(now), self.pool.prices[name].unit("cpu_second"))
            for name, site in self.pool.sites.items()
        }

    def _node(self, addr: str, info: dict) -> Node:
        return Node(addr, site_of(info.get("name", ""), self.pool.default_site), float(info.get("nthreads", 1)),
                    int(info.get("memory_limit") or 0) or 2**62, int(info.get("resources", {}).get("GPU", 0)))

    async def _requeue_lost(self, now: float) -> None:
        for job in list(self.pool.live.values()):
            if job.state == "running" and job.node and job.node not in self._workers:
                future = self._futures.pop(job.id, None)
                if future is not None:
                    future.cancel()
                await self.pool.requeue(job, job.attempt, "worker lost", now)

    def _tick_costs(self, now: float) -> None:
        for job in self.pool.live.values():
            if job.state == "running" and job.started_at:
                cost = min(job.rate * (now - job.started_at), job.max_cost)
                self.pool.hub.transient(job.id, job.account, COST, {"cost": cost, "max_cost": job.max_cost})

    async def _run(self, start: Start) -> None:
        job = self.pool.live.get(start.job)
        if job is None:
            self.pool.scheduler.finished(start.job, 0.0, time.time())
            return
        attempt = job.attempt + 1
        self.pool.mark_started(job, attempt, start.site, start.node)
        job.events_seen, job.output, job.output_bytes = 0, [], 0
        try:
            payload, limits = await self._prepare(job, start)
        except Exception as exc:  # noqa: BLE001 - the pool's own failure must end the job, not leave it running
            log.exception("job %s attempt %d could not be started", job.id, attempt)
            self.pool.store_start(job)  # the settlement below ends a stored start
            await self._fail(job, attempt, f"The pool could not start the job ({type(exc).__name__}: {exc}); "
                                           "report this to the pool's operator.")
            return
        call = asyncio.ensure_future(self._direct(start.node, job.id, attempt, payload, limits))
        # Stored after the call's first step has sent the job (callbacks run in order).
        asyncio.get_running_loop().call_soon(self.pool.store_start, job)
        self._futures[job.id] = call
        del payload
        try:
            report = await call
        except asyncio.CancelledError:
            if job.attempt == attempt and job.state == "running" and not call.cancelled():
                raise
            return
        except WorkerError as exc:  # our worker-side code failed on this job: running it again won't help
            log.error("job %s attempt %d failed on its worker: %s", job.id, attempt, exc)
            await self._fail(job, attempt, f"The worker could not run the job ({exc}); report this to the pool's operator.")
            return
        except Exception as exc:  # the worker or the connection to it broke: run it again
            log.warning("job %s attempt %d lost: %r", job.id, attempt, exc)
            if isinstance(exc, OSError):  # the connection broke: keep jobs off that worker for now
                self._suspects[start.node] = time.monotonic() + SUSPECT_SECONDS
                await self._refresh_nodes(time.time())
            await self.pool.requeue(job, attempt, f"worker error: {type(exc).__name__}", time.time())
            return
        finally:
            if self._futures.get(job.id) is call:
                del self._futures[job.id]
        deadline = time.monotonic() + EVENT_GRACE
        while job.events_seen < report.get("events", 0) and time.monotonic() < deadline:
            await asyncio.sleep(0.002)
        await self.pool.finish(job, attempt, report)

    async def _prepare(self, job: LiveJob, start: Start) -> tuple[bytes, dict]:
        """The payload to send and the limits to run it under."""
        payload, job.payload = job.payload, None
        if payload is None:
            payload = await asyncio.to_thread(self.pool.payload, job.id)
        limits = {"cpus": job.cpus, "memory": job.memory, "wall_seconds": self.pool.wall_limit(job),
                  "account_key": self.account_key(job.account)}
        if isinstance(payload, Path):
            if on_this_host(start.node):  # the job process maps the spool file itself
                limits["payload_path"], payload = str(payload), b""
            else:
                payload = await asyncio.to_thread(payload.read_bytes)
        return payload, limits

    async def _fail(self, job: LiveJob, attempt: int, error: str) -> None:
        """End an attempt that failed through no fault of the job's, unbilled: running it again won't help."""
        await self.pool.finish(job, attempt, {
            "state": "failed", "reason": "worker error", "result": None, "cpu_seconds": 0.0,
            "wall_seconds": 0.0, "peak_memory": 0, "error": error}, billed=False)

    def account_key(self, account: int) -> str:
        """What a worker needs to tell accounts apart (a job process is only ever reused for
        the same account's jobs) without learning who they are."""
        return hashlib.blake2b(str(account).encode(), key=self._key, digest_size=12).hexdigest()

    async def kill(self, job: LiveJob) -> None:
        """Stop a running job's process; its ``run_job`` then reports it cancelled."""
        if job.node:
            _answer(await self.client.rpc(job.node).fairshare_kill(job_id=job.id))

    async def _direct(self, worker: str, job_id: str, attempt: int, payload: bytes, limits: dict) -> dict:
        """Run an attempt on ``worker`` through its ``fairshare_run`` handler (``execution.direct``)."""
        return _answer(await self.client.rpc(worker).fairshare_run(
            job_id=job_id, attempt=attempt, payload=framed(payload), limits=limits))

    def _on_worker_event(self, event) -> None:
        _ts, msg = event
        job = self.pool.live.get(msg.get("job"))
        if job is None or msg.get("attempt") != job.attempt:
            return
        job.events_seen += 1
        kind = msg.get("type")
        if kind == OUTPUT:
            self.pool.output(job, {"stream": msg.get("stream"), "text": msg.get("text", "")})
        elif kind == PROGRESS:
            job.progress = {"done": msg.get("done", 0), "total": msg.get("total", 0)}
            self.pool.hub.transient(job.id, job.account, PROGRESS, job.progress)


def _answer(response: dict) -> dict:
    if response.get("status") != "OK":
        raise WorkerError(response.get("text") or "unknown error")
    return response
