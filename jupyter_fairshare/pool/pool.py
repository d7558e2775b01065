"""The pool: the manager the HTTP handlers call, holding the store, policy and dispatcher.

Handlers translate HTTP to calls here and nothing else, so tests and the command line can
drive the same logic. State lives in the store; what is in memory (the live jobs, the
scheduler's queues) is rebuilt from the store on start, which is how a pool killed at any
moment comes back with every accepted job and no job run twice.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import re
import socket
import time
import uuid
from pathlib import Path

from sqlalchemy import Engine, insert, select

from .. import spoolfiles
from ..wire import DONE, OUTPUT, QUEUED
from . import accounts, jobs
from .carbon import greener_start
from .config import PoolConfig
from .events import Event, Hub, record
from .jobs import LiveJob
from .ledger import PriceList, breakdown_from_costs, make_bill, time_limit
from .policy import (
    AccountState,
    Scheduler,
    billing_units,
    fits_somewhere,
)
from .http.schemas import JobSpec
from .sites import Site, parse_carbon
from .store.db import open_engine
from .store.tables import accounts as accounts_table
from .store.tables import blobs, prices, reservations, sites
from .store.tables import jobs as jobs_table
from .store.writer import Writer

log = logging.getLogger(__name__)
EXPECTED_RUN = 60.0  # seconds a deadline job is assumed to need when choosing its window
SPOOL_NAME = re.compile(r"[0-9a-f]{32}\.part")
INLINE_LIMIT = 64 * 1024  # output and result this small come back with a ?wait answer
OUTPUT_GRACE = 0.1  # seconds a job that printed may take to end before a ?wait answer lets its output stream
KEEP_PAYLOAD = 64 * 1024  # small payloads stay in memory until dispatch, sparing a store read
LIVE_STANDINGS = 50  # queue length up to which positions are computed per request


class PoolError(Exception):
    """A request the pool refuses; ``status`` is the HTTP status, the message says what to do."""

    def __init__(self, status: int, message: str, **details) -> None:
        super().__init__(message)
        self.status = status
        self.details = details


class Pool:
    def __init__(self, config: PoolConfig) -> None:
        self.config = config
        self.engine: Engine = open_engine(config.url)
        self.writer = Writer(self.engine)
        self.hub = Hub()
        self.scheduler = Scheduler(config.policy)
        self.live: dict[str, LiveJob] = {}
        self.deferred: dict[str, LiveJob] = {}  # queued jobs waiting for a greener window
        self._snapshot: dict = {}
        self._snapshot_due = 0.0
        self.sites: dict[str, Site] = {}
        self.prices: dict[str, PriceList] = {}
        self.dispatcher = None
        self._principals: dict[str, tuple[float, accounts.Principal]] = {}
        self._known_accounts: set[str] = set()
        self._load_sites()

    @property
    def default_site(self) -> str:
        return self.config.sites[0].name

    # -- life cycle -------------------------------------------------------------------

    async def start(self, client) -> None:
        from .dispatcher import Dispatcher

        await asyncio.to_thread(self._recover)
        await asyncio.to_thread(spoolfiles.empty, self.spool)
        self.dispatcher = Dispatcher(self, client)
        await self.dispatcher.start()

    async def stop(self) -> None:
        if self.dispatcher:
            await self.dispatcher.stop()
        self.writer.close()
        self.engine.dispose()

    def _load_sites(self) -> None:
        """Publish each configured site and, when its costs changed, a new price version."""
        now = time.time()
        with self.engine.begin() as connection:
            for conf in self.config.sites:
                site = Site(conf.name, parse_carbon(conf.carbon), conf.watts_per_cpu, conf.watts_per_gb, conf.watts_per_gpu)
                breakdown = breakdown_from_costs(conf.watts_per_cpu, conf.watts_per_gb, conf.watts_per_gpu,
                                                 electricity_per_kwh=conf.electricity_per_kwh)
                if connection.execute(select(sites.c.name).where(sites.c.name == conf.name)).first() is None:
                    connection.execute(insert(sites).values(
                        name=conf.name, carbon=site.carbon.spec, watts_per_cpu=conf.watts_per_cpu,
                        watts_per_gb=conf.watts_per_gb, watts_per_gpu=conf.watts_per_gpu, created_at=now))
                latest = connection.execute(
                    select(prices).where(prices.c.site == conf.name).order_by(prices.c.version.desc()).limit(1)
                ).mappings().first()
                if latest is None or latest["breakdown"] != breakdown:
                    version = (latest["version"] + 1) if latest else 1
                    connection.execute(insert(prices).values(site=conf.name, version=version, breakdown=breakdown,
                                                             effective_at=now))
                    latest = {"version": version, "breakdown": breakdown, "effective_at": now}
                self.sites[conf.name] = site
                self.prices[conf.name] = PriceList(conf.name, latest["version"], latest["breakdown"], latest["effective_at"])

    def _recover(self) -> None:
        """Rebuild memory from the store: running attempts of a dead pool go back in the queue."""
        now = time.time()
        with self.engine.begin() as connection:
            rows = connection.execute(
                select(jobs_table, accounts_table.c.name.label("account_name"), accounts_table.c.tier)
                .join(accounts_table, accounts_table.c.id == jobs_table.c.account_id)
                .where(jobs_table.c.state.in_(("queued", "running")))
                .order_by(jobs_table.c.submitted_at)
            ).mappings().all()
            for row in rows:
                job = self._live_from_row(row)
                if row["state"] == "running":
                    jobs.requeue(connection, job, row["attempt"], "pool restarted")
                    job.attempt = row["attempt"]
                self.live[job.id] = job
            for row in connection.execute(select(accounts_table)).mappings():
                self.scheduler.set_account(AccountState(row["name"], row["tier"], row["shares"], row["usage"]),
                                           row["usage_at"])
                self._known_accounts.add(row["name"])
        for job in self.live.values():
            self.queue(job, now)
        log.info("recovered %d queued jobs at %.0f", len(self.live), now)

    def _live_from_row(self, row) -> LiveJob:
        meta = row["meta"] or {}
        job = LiveJob(
            id=row["id"], account=row["account_id"], account_name=row["account_name"], tier=row["tier"],
            name=row["name"], kind=row["kind"], cpus=row["cpus"], memory=row["memory"], gpus=row["gpus"],
            max_cost=row["max_cost"], hold=row["hold"], submitted_at=row["submitted_at"],
            site_request=row["site_request"], deadline=row["deadline"], attempt=row["attempt"],
            notebook=meta.get("notebook"), cell=meta.get("cell"), spooled=True,  # an unlink too many costs nothing
        )
        job.ended, job.news = asyncio.Event(), asyncio.Event()
        return job

    # -- accounts ---------------------------------------------------------------------

    def principal(self, token: str) -> accounts.Principal:
        """The account behind a bearer token; cached briefly since every request asks."""
        cached = self._principals.get(token)
        now = time.monotonic()
        if cached and now - cached[0] < 5.0:
            return cached[1]
        with self.engine.connect() as connection:
            principal = accounts.by_token(connection, token)
        if principal is None:
            raise PoolError(401, "This token is not valid for this pool; check FAIRSHARE_TOKEN or ask the pool's operator for a new one.")
        self._principals[token] = (now, principal)
        return principal

    def account(self, principal: accounts.Principal) -> dict:
        with self.engine.connect() as connection:
            row = connection.execute(select(accounts_table).where(accounts_table.c.id == principal.id)).mappings().one()
        return accounts.public(row)

    # -- jobs -------------------------------------------------------------------------

    async def receive(self, request, principal: accounts.Principal, spec: JobSpec) -> bytes | Path:
        """The request's payload: bytes when small, else streamed into a spool file as it
        arrives, so a large payload is never held whole in the pool's memory."""
        if name := request.headers.get("fairshare-payload-file"):
            return self._adopt(name, principal, spec)
        declared = int(request.headers.get("content-length") or 0)
        if declared > self.config.payload_limit:
            await self.writer(lambda c: jobs.refuse(c, principal.tier, spec.site, "payload too large"))
            raise PoolError(413, f"The payload is {_size(declared)} but this pool accepts at most "
                                 f"{_size(self.config.payload_limit)}; send less data, e.g. load it on the worker.",
                            limit=self.config.payload_limit, size=declared)
        if declared <= self.config.spool_threshold:
            return await request.body()
        self.spool.mkdir(parents=True, exist_ok=True)
        path = self.spool / f"{uuid.uuid4().hex}.part"
        try:
            with spoolfiles.new_file(path, declared) as handle:
                async for chunk in request.stream():
                    handle.write(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path

    def _adopt(self, name: str, principal: accounts.Principal, spec: JobSpec) -> Path:
        """A payload a client on this host wrote straight into the spool (see ``spool_info``).

        Only a bare ``<32 hex>.part`` name in the spool is accepted, and only a regular file,
        so a request cannot point the pool at anything else on the machine.
        """
        path = self.spool / name
        if not SPOOL_NAME.fullmatch(name) or not path.is_file() or path.is_symlink():
            raise PoolError(422, f"No spooled payload named {name!r}; write it into the spool directory "
                                 "GET /api/v1/spool names, or send the payload as the request body.")
        return path

    def spool_info(self) -> dict:
        """Where a client on the pool's own host may write a large payload instead of uploading it."""
        self.spool.mkdir(parents=True, exist_ok=True)
        return {"path": str(self.spool), "host": socket.gethostname(), "threshold": self.config.spool_threshold}

    async def submit(self, principal: accounts.Principal, spec: JobSpec, payload: bytes | Path) -> dict:
        size = jobs.payload_size(payload)
        if size > self.config.payload_limit:
            if isinstance(payload, Path):
                payload.unlink(missing_ok=True)
            await self.writer(lambda c: jobs.refuse(c, principal.tier, spec.site, "payload too large"))
            raise PoolError(413, f"The payload is {_size(size)} but this pool accepts at most "
                                 f"{_size(self.config.payload_limit)}; send less data, e.g. load it on the worker.",
                            limit=self.config.payload_limit, size=size)
        try:
            return await self._admit(principal, spec, payload)
        finally:
            if isinstance(payload, Path):
                payload.unlink(missing_ok=True)  # renamed to the job's own file when admitted

    async def _admit(self, principal: accounts.Principal, spec: JobSpec, payload: bytes | Path) -> dict:
        if spec.site is not None and spec.site not in self.sites:
            raise PoolError(422, f"There is no site named {spec.site!r}; the sites are {', '.join(self.sites)}.")
        if spec.id is not None and spec.id in self.live and self.live[spec.id].account == principal.id:
            return self.view(spec.id, principal)
        now = time.time()
        job = LiveJob(
            id=spec.id or uuid.uuid4().hex, account=principal.id, account_name=principal.name, tier=principal.tier,
            name=spec.name, kind=spec.kind, cpus=spec.cpus, memory=spec.memory, gpus=spec.gpus,
            max_cost=spec.max_cost or self.config.default_max_cost, hold=0.0, submitted_at=now,
            site_request=spec.site, deadline=(now + spec.deadline) if spec.deadline else None,
            notebook=spec.notebook, cell=spec.cell,
        )
        job.hold = job.max_cost
        job.ended, job.news = asyncio.Event(), asyncio.Event()
        if principal.name not in self._known_accounts:
            self.account_changed(principal.name)
        nodes = self.dispatcher.nodes() if self.dispatcher else []
        if nodes and not fits_somewhere(job.queued(), nodes):
            await self.writer(lambda c: jobs.refuse(c, principal.tier, spec.site, "resources"))
            raise PoolError(422, _no_fit(job, nodes))
        meta = {"versions": spec.versions, "notebook": spec.notebook, "cell": spec.cell}
        linked = False
        if isinstance(payload, Path):
            spooled = self.spool / f"{job.id}.payload"
            try:
                os.link(payload, spooled)  # the job's own name, kept if it is admitted
                linked = True
            except FileExistsError:  # a resubmission: admission below says whose it is
                pass
            payload, job.spooled = spooled, True
        outcome, balance, event = await self.writer.batched(jobs.admit, (job, payload, meta))
        if outcome != "accepted" and linked:
            payload.unlink(missing_ok=True)
        if outcome == "exists":
            return self.view(job.id, principal)
        if outcome == "conflict":
            raise PoolError(409, "That job id is taken; let the client choose a fresh one.")
        if outcome == "credits":
            raise PoolError(402, f"This job may cost up to {job.hold:.4f} credits (its max cost) but your balance is "
                                 f"{balance:.4f} credits; lower --max-cost or ask the pool's operator for a top-up.",
                            estimate=job.hold, balance=balance)
        job.payload = payload if isinstance(payload, bytes) and len(payload) <= KEEP_PAYLOAD else None
        self.live[job.id] = job
        self.queue(job, now)
        out = self._with_standing(jobs.public_live(job), now)
        if out.get("expected_start") is not None:
            job.predicted_wait = max(out["expected_start"] - now, 0.0)
            standing = self.standing(job.id, now)
            job.predicted_uncertainty = standing.uncertainty if standing is not None else None
        self.hub.publish(event)
        if self.scheduler.has_room:  # start it in this request rather than at the next dispatch cycle
            self.dispatcher.dispatch(time.time())
        return out

    async def wait(self, job_id: str, principal: accounts.Principal, seconds: float) -> dict:
        """The job once it ends or ``seconds`` pass. A short job that ended meanwhile also
        carries its output and (small) result inline: the whole round trip in one request.

        A job that prints gets ``OUTPUT_GRACE`` more to end; if it runs on, the answer goes
        back at once, so that the caller streams its output as it is printed rather than
        seeing it only when ``seconds`` have passed.
        """
        job = self.live.get(job_id)
        if job is not None and job.account == principal.id and seconds > 0:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + seconds
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(deadline):
                    await job.news.wait()
                async with asyncio.timeout_at(min(deadline, loop.time() + OUTPUT_GRACE)):
                    await job.ended.wait()
        if job is not None and job.account == principal.id and job.final is not None:
            return {**job.final, "inline": job.inline}  # just settled: no store read needed
        return self.view(job_id, principal)

    def view(self, job_id: str, principal: accounts.Principal) -> dict:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(jobs_table).where(jobs_table.c.id == job_id, jobs_table.c.account_id == principal.id)
            ).mappings().first()
        if row is None:
            raise PoolError(404, f"No job {job_id} in your account; list yours with `%fairshare jobs` or GET /api/v1/jobs.")
        return self._with_standing(jobs.public(row, self.live.get(job_id)), time.time())

    def _with_standing(self, out: dict, now: float) -> dict:
        """Add what only the live pool knows: position and expected start, cost so far."""
        job_id = out["id"]
        if out["state"] == "queued" and job_id in self.deferred:
            out.update(expected_start=self.deferred[job_id].greener["start_at"],
                       greener_window=self.deferred[job_id].greener)
        elif out["state"] == "queued":
            standing = self.standing(job_id, now)
            if standing is not None:
                out.update(position=standing.position, queue_length=standing.queue_length,
                           expected_start=standing.expected_start)
        elif out["state"] == "running":
            live = self.live.get(job_id)
            if live and live.started_at:
                out["cost"] = min(live.rate * (now - live.started_at), live.max_cost)
        return out

    def listing(self, principal: accounts.Principal, state: str | None, limit: int) -> list[dict]:
        query = select(jobs_table).where(jobs_table.c.account_id == principal.id)
        if state:
            query = query.where(jobs_table.c.state == state)
        with self.engine.connect() as connection:
            rows = connection.execute(query.order_by(jobs_table.c.submitted_at.desc()).limit(limit)).mappings().all()
        now = time.time()
        return [self._with_standing(jobs.public(row, self.live.get(row["id"])), now) for row in rows]

    def result(self, job_id: str, principal: accounts.Principal) -> bytes:
        job = self.view(job_id, principal)
        if job["state"] not in (DONE, "failed"):
            raise PoolError(409, f"Job {job_id} is {job['state']} and has no result; wait for it to finish.")
        with self.engine.connect() as connection:
            data = connection.execute(
                select(blobs.c.data).where(blobs.c.job_id == job_id, blobs.c.kind == "result")
            ).scalar()
        if data is None:
            raise PoolError(409, f"Job {job_id} ended with {job['reason'] or job['state']} and left no result; see its error.")
        return data

    def payload(self, job_id: str) -> bytes | Path:
        """A job's payload: its bytes, or the path of its spool file."""
        with self.engine.connect() as connection:
            data, path = connection.execute(
                select(blobs.c.data, blobs.c.path).where(blobs.c.job_id == job_id, blobs.c.kind == "payload")
            ).one()
        return Path(path) if path else data

    @property
    def spool(self) -> Path:
        return self.config.data_dir / "spool"

    async def cancel(self, job_id: str, principal: accounts.Principal) -> dict:
        self.view(job_id, principal)  # 404 for others' jobs
        job = self.live.get(job_id)
        if job is None:
            return self.view(job_id, principal)
        job.cancel_requested = True
        if job.state == "queued":
            event = await self.writer(lambda c: jobs.cancel_queued(c, job, time.time()))
            if event is not None:
                if self.deferred.pop(job.id, None) is None:
                    self.scheduler.remove(job.id)
                self._forget(job, event)
        elif job.state == "running":
            await self.dispatcher.kill(job)
            try:
                await asyncio.wait_for(job.ended.wait(), timeout=2.0)
            except TimeoutError:
                log.warning("job %s did not stop within 2 s of its cancel", job_id)
        return self.view(job_id, principal)

    def why(self, job_id: str, principal: accounts.Principal) -> dict:
        job = self.view(job_id, principal)
        if job_id in self.deferred:
            return {"position": None, "queue_length": self.scheduler.queued_count, "state": "queued",
                    "expected_start": job["expected_start"], "components": {}, "ahead": [],
                    "greener_window": job["greener_window"]}
        if job["state"] != "queued":
            return {"position": None, "queue_length": self.scheduler.queued_count, "expected_start": None,
                    "components": {}, "ahead": [], "state": job["state"]}
        return {**self.scheduler.why(job_id, time.time()), "state": "queued"}

    # -- transitions the dispatcher drives --------------------------------------------

    def standing(self, job_id: str, now: float):
        """A queued job's position and expected start.

        Exact while the queue is small; past ``LIVE_STANDINGS`` jobs a full recomputation
        costs too much per request, so the dispatcher's periodic snapshot answers instead.
        """
        if self.scheduler.queued_count <= LIVE_STANDINGS:
            return self.scheduler.standing(job_id, now)
        return self._snapshot.get(job_id)

    def position_event(self, job_id: str):
        """The job's standing now as a transient ``queued`` event, for a listener that just joined."""
        job = self.live.get(job_id)
        standing = self.standing(job_id, time.time()) if job is not None and job.state == QUEUED else None
        if standing is None:
            return None
        return Event(0, job_id, job.account, QUEUED, {
            "state": QUEUED, "position": standing.position, "queue_length": standing.queue_length,
            "expected_start": standing.expected_start, "uncertainty": standing.uncertainty})

    def refresh_snapshot(self, now: float) -> None:
        """Recompute every standing (at most as often as costs 10x its own time) and tell
        the listeners of each job whose position changed."""
        if now < self._snapshot_due or not (self.scheduler.queued_count or self._snapshot):
            return
        begun = time.perf_counter()
        previous, self._snapshot = self._snapshot, self.scheduler.standings(now)
        listened = self.hub.listened_accounts()
        for job_id, standing in self._snapshot.items():
            job = self.live.get(job_id)
            if job is None:
                continue
            if job.predicted_wait is None:
                job.predicted_wait = max(standing.expected_start - job.submitted_at, 0.0)
                job.predicted_uncertainty = standing.uncertainty
            before = previous.get(job_id)
            if (job.account in listened or self.hub.listened(job_id)) and (
                    before is None or before.position != standing.position):
                self.hub.transient(job_id, job.account, QUEUED, {
                    "state": QUEUED, "position": standing.position, "queue_length": standing.queue_length,
                    "expected_start": standing.expected_start, "uncertainty": standing.uncertainty})
        self._snapshot_due = now + max(0.2, 10 * (time.perf_counter() - begun))

    def queue(self, job: LiveJob, now: float) -> None:
        """Put a job in the fair-share queue, or hold it for a greener window its deadline allows."""
        if job.deadline is not None:
            sites = [self.sites[job.site_request]] if job.site_request else list(self.sites.values())
            window = greener_start(sites, now, job.deadline - EXPECTED_RUN)
            if window is not None:
                job.greener = {"start_at": window[0], "intensity_then": window[1], "intensity_now": window[2]}
                self.deferred[job.id] = job
                return
        job.greener = None
        self.scheduler.enqueue(job.queued())

    def release_deferred(self, now: float) -> None:
        """Jobs whose greener window has come join the queue."""
        for job in [j for j in self.deferred.values() if j.greener["start_at"] <= now]:
            del self.deferred[job.id]
            job.greener = None
            self.scheduler.enqueue(job.queued())

    def mark_started(self, job: LiveJob, attempt: int, site: str, node: str) -> None:
        """The job runs from now on, as far as the pool's memory goes; ``store_start`` records it."""
        job.state, job.attempt, job.site, job.node, job.started_at = "running", attempt, site, node, time.time()
        job.rate = self.prices[site].rate(job.cpus, job.memory, job.gpus)

    def store_start(self, job: LiveJob) -> None:
        """Write the start once the job is on its way; nobody waits for the commit.

        Waiting would put a commit on every job's critical path for nothing: the writes commit
        in order, so the start is stored before the job's settlement can be, and a pool killed
        in between re-queues the job on start (it runs again, completes once).
        """
        attempt, site, node, now = job.attempt, job.site, job.node, job.started_at
        written = self.writer(lambda c: jobs.start(c, job, attempt, site, node, now))
        written.add_done_callback(lambda f: f.exception() is None and f.result() and self.hub.publish(f.result()))

    def wall_limit(self, job: LiveJob) -> float:
        """The job's wall time limit: the pool's, or sooner where its max cost runs out."""
        return min(self.config.max_wall_seconds,
                   time_limit(job.max_cost, self.prices[job.site], job.cpus, job.memory, job.gpus))

    async def requeue(self, job: LiveJob, attempt: int, reason: str, now: float) -> None:
        if attempt >= self.config.max_attempts:
            await self.finish(job, attempt, {"state": "failed", "reason": "worker lost", "error":
                              f"The job's worker was lost {attempt} times; it was not billed. Submit it again or "
                              "ask the pool's operator about the cluster.", "result": None, "cpu_seconds": 0.0,
                              "wall_seconds": 0.0, "peak_memory": 0}, billed=False)
            return
        event = await self.writer(lambda c: jobs.requeue(c, job, attempt, reason))
        if event is None:
            return
        self.scheduler.finished(job.id, 0.0, now)
        job.state, job.site, job.node, job.started_at, job.progress = "queued", None, None, None, None
        self.queue(job, now)
        self.hub.publish(event)
        self.dispatcher.wake.set()

    async def finish(self, job: LiveJob, attempt: int, report: dict, billed: bool = True) -> None:
        now = time.time()
        state, reason, error = report["state"], report.get("reason"), report.get("error")
        wall = float(report.get("wall_seconds") or 0.0)
        if state == "limit":
            if reason == "time" and self.wall_limit(job) < self.config.max_wall_seconds:
                reason, error = "max cost", (f"Max cost reached: the job was stopped at its cap of {job.max_cost:.4f} "
                                             "credits and billed up to it; raise --max-cost to let it run longer.")
            elif reason == "time":
                error = error or f"The job ran past the pool's time limit of {self.config.max_wall_seconds:.0f} s; split it into shorter jobs."
            else:
                error = error or f"The job used more than its {_size(job.memory)} of memory; ask for more with --memory."
            state = "failed"
        elif state == "cancelled":
            reason = "cancelled"
        site = self.sites[job.site] if job.site else None
        bill = None
        if billed and site is not None:
            intensity = site.carbon.intensity(now)
            bill = make_bill(self.prices[job.site], cpus=job.cpus, memory=job.memory, gpus=job.gpus,
                             wall_seconds=wall, cpu_seconds=float(report.get("cpu_seconds") or 0.0),
                             peak_memory=int(report.get("peak_memory") or 0), max_cost=job.max_cost,
                             energy_kwh=site.energy_kwh(job.cpus, job.memory, job.gpus, wall),
                             carbon_intensity=intensity)
            if reason == "max cost":
                bill["total"], bill["capped"] = job.max_cost, True
        usage = billing_units(job.cpus, job.memory, job.gpus, wall, self.config.policy) if billed else 0.0
        event = await self.writer(lambda c: jobs.settle(c, job, attempt, state, reason, error, bill,
                                                        report.get("result"), usage, self.config.policy.half_life, now))
        if event is None:
            return
        self.scheduler.finished(job.id, usage, now)
        job.final = {**jobs.public_live(job), "state": state, "reason": reason, "error": error,
                     "finished_at": now, "cost": bill["total"] if bill else 0.0, "bill": bill}
        result = report.get("result")
        small = base64.b64encode(result).decode("ascii") if result is not None and len(result) <= INLINE_LIMIT else None
        if job.output is not None and (result is None or small is not None):
            job.inline = {"output": job.output, "result": small}
        # A follower of the job's events gets a small result with the final one: no request after it.
        self._forget(job, event, {"inline": {"result": small}} if small is not None else None)

    def output(self, job: LiveJob, data: dict) -> None:
        """Store an output chunk and push it once it is committed."""
        job.output_bytes += len(data.get("text") or "")
        if job.output is not None and job.output_bytes <= INLINE_LIMIT:
            job.output.append(data)
        else:
            job.output = None  # too much to send inline: the client replays the stored events
        written = self.writer(lambda c: record(c, job.id, job.account, OUTPUT, data))
        written.add_done_callback(self._printed(job))

    def _printed(self, job: LiveJob):
        """Once an output chunk is stored: push it, and wake the ?wait requests waiting now
        (``news`` is then replaced, so a later request waits for later news only)."""
        def done(written: asyncio.Future) -> None:
            if written.exception() is None:
                self.hub.publish(written.result())
                news, job.news = job.news, asyncio.Event()
                news.set()
        return done

    def _forget(self, job: LiveJob, event, live: dict | None = None) -> None:
        if job.spooled:  # a final job needs its payload no more: kept for reuse or deleted, in a
            # thread, since the answer to the job's owner need not wait for either
            asyncio.get_running_loop().run_in_executor(None, spoolfiles.retire, self.spool / f"{job.id}.payload")
        job.state = event.type
        self.live.pop(job.id, None)
        self.hub.publish(event, live)
        job.ended.set()
        job.news.set()
        if self.dispatcher:
            self.dispatcher.wake.set()

    # -- public views -----------------------------------------------------------------

    def public_prices(self) -> dict:
        return {"sites": [p.public() for p in self.prices.values()]}

    def public_sites(self) -> dict:
        now = time.time()
        nodes = self.dispatcher.nodes() if self.dispatcher else []
        used: dict[str, float] = {}
        for job in self.live.values():
            if job.state == "running" and job.node:
                used[job.node] = used.get(job.node, 0.0) + job.cpus
        out = []
        for name, site in self.sites.items():
            mine = [n for n in nodes if n.site == name]
            cpus = sum(n.cpus for n in mine)
            busy = sum(used.get(n.name, 0.0) for n in mine)
            out.append({
                "name": name, "workers": len(mine), "cpus": cpus, "free_cpus": cpus - busy,
                "memory": sum(n.memory for n in mine), "gpus": sum(n.gpus for n in mine),
                "carbon_intensity": site.carbon.intensity(now), "carbon_source": site.carbon.spec,
                "price_version": self.prices[name].version,
            })
        return {"sites": out, "payload_limit": self.config.payload_limit}

    def public_queue(self) -> dict:
        return {"queue": self.scheduler.queue_view(time.time()), "running": self.scheduler.running_count}

    def public_stats(self) -> dict:
        from .stats import published

        sites = self.public_sites()["sites"]
        capacity = sum(s["cpus"] for s in sites)
        with self.engine.connect() as connection:
            return published(connection, time.time(), capacity, capacity - sum(s["free_cpus"] for s in sites))

    async def add_reservation(self, body) -> dict:
        if body.site not in self.sites:
            raise PoolError(422, f"There is no site named {body.site!r}; the sites are {', '.join(self.sites)}.")
        if body.ends_at <= body.starts_at:
            raise PoolError(422, "A reservation must end after it starts; fix ends_at.")
        values = {**body.model_dump(), "created_at": time.time()}
        rid = await self.writer(lambda c: c.execute(insert(reservations).values(**values)).inserted_primary_key[0])
        return {"id": rid, **values}

    def account_changed(self, name: str) -> None:
        """Forget cached principals so a changed tier or role applies at once."""
        self._principals.clear()
        self._known_accounts.add(name)
        with self.engine.connect() as connection:
            row = connection.execute(select(accounts_table).where(accounts_table.c.name == name)).mappings().first()
        if row is not None:
            self.scheduler.set_account(AccountState(row["name"], row["tier"], row["shares"], row["usage"]), row["usage_at"])

    def public_reservations(self) -> dict:
        with self.engine.connect() as connection:
            rows = connection.execute(select(reservations).order_by(reservations.c.starts_at.desc())).mappings().all()
        return {"reservations": [dict(row) for row in rows]}


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"


def _no_fit(job: LiveJob, nodes) -> str:
    biggest = max(nodes, key=lambda n: (n.gpus, n.cpus, n.memory))
    return (f"No site can offer {job.cpus:g} CPUs, {_size(job.memory)} of memory and {job.gpus} GPUs at once; "
            f"the largest worker has {biggest.cpus:g} CPUs, {_size(biggest.memory)} and {biggest.gpus} GPUs, so ask for less.")
