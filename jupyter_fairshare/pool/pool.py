"""The pool: the facade the HTTP routes (and tests, and the command line) call.

It wires the parts together and owns their life: the store and its writer, the prices
(``billing.py``), the job book (``lifecycle.py``), admission, the views, and once a Dask
client is given, the dispatcher and the run loop (``running.py``). State lives in the
store; what is in memory (the live jobs, the scheduler's queues) is rebuilt from it on
start, which is how a pool killed at any moment comes back with every accepted job and no
job run twice.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from distributed import Client
from sqlalchemy import Engine

from .. import spoolfiles
from ..protocol import JobState
from .admission import Admission
from .billing import Billing
from .config import PoolConfig
from .dispatcher import Dispatcher
from .errors import Conflict, Invalid, NotFound, Unauthorized
from .hub import Hub
from .lifecycle import JobBook
from .policy import AccountState, Node, Scheduler
from .running import Runner
from .store import accounts as account_store
from .store import events as event_store
from .store import jobs as job_store
from .store import reservations as reservation_store
from .store.db import open_engine
from .store.events import Event
from .store.writer import Writer
from .views import Views

log = logging.getLogger(__name__)
PRINCIPAL_TTL = 5.0  # seconds a token's account is cached: every request asks, tiers rarely change


class Pool:
    """One pool service: its parts, started and stopped together."""

    def __init__(self, config: PoolConfig) -> None:
        self.config = config
        self.engine: Engine = open_engine(config.url)
        self.writer = Writer(self.engine)
        self.hub = Hub()
        self.scheduler = Scheduler(config.policy)
        self.billing = Billing(self.engine, config)
        self.book = JobBook(config, self.writer, self.hub, self.scheduler, self.billing)
        self.views = Views(self.engine, self.book, self.nodes)
        self.admission = Admission(self.book, self.views, self.nodes, self._start_now, self.account_changed)
        self.dispatcher: Dispatcher | None = None
        self.runner: Runner | None = None
        self._principals: dict[str, tuple[float, account_store.Principal]] = {}

    @property
    def default_site(self) -> str:
        return self.config.sites[0].name

    # -- life cycle -------------------------------------------------------------------

    async def start(self, client: Client) -> None:
        """Recover the store's jobs, empty the spool of half-received payloads, start running jobs."""
        await asyncio.to_thread(self.recover)
        await asyncio.to_thread(spoolfiles.empty, self.book.spool)
        self.dispatcher = Dispatcher(client, self.default_site, self.billing.sites.keys(), preload=self.config.preload)
        self.runner = Runner(self.book, self.dispatcher, functools.partial(job_store.payload, self.engine),
                             self.views.refresh_standings)
        await self.runner.start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.stop()
        self.writer.close()
        self.engine.dispose()

    def recover(self) -> None:
        """Rebuild memory from the store: running attempts of a dead pool go back in the queue."""
        now = time.time()
        with self.engine.begin() as connection:
            self.book.recover(connection, job_store.recoverable(connection), now)
            for row in account_store.every(connection):
                self.scheduler.set_account(AccountState(row["name"], row["tier"], row["shares"], row["usage"]),
                                           row["usage_at"])
                self.admission.known(row["name"])
        log.info("recovered %d queued jobs at %.0f", len(self.book.live), now)

    def nodes(self) -> list[Node]:
        """The workers jobs may run on now (none before the dispatcher started)."""
        return self.dispatcher.nodes() if self.dispatcher is not None else []

    def _start_now(self, now: float) -> None:
        if self.runner is not None:
            self.runner.dispatch(now)

    # -- accounts ---------------------------------------------------------------------

    def principal(self, token: str) -> account_store.Principal:
        """The account behind a bearer token; cached briefly since every request asks."""
        cached = self._principals.get(token)
        now = time.monotonic()
        if cached and now - cached[0] < PRINCIPAL_TTL:
            return cached[1]
        with self.engine.connect() as connection:
            principal = account_store.by_token(connection, token)
        if principal is None:
            raise Unauthorized("This token is not valid for this pool; check FAIRSHARE_TOKEN or ask the "
                               "pool's operator for a new one.")
        self._principals[token] = (now, principal)
        return principal

    def account_changed(self, name: str) -> None:
        """Forget cached principals so a changed tier or role applies at once."""
        self._principals.clear()
        self.admission.known(name)
        with self.engine.connect() as connection:
            row = account_store.by_name(connection, name)
        if row is not None:
            self.scheduler.set_account(AccountState(row["name"], row["tier"], row["shares"], row["usage"]),
                                       row["usage_at"])

    async def add_account(self, name: str, tier: str, shares: float, credits: float, role: str) -> str:
        """Create an account; its token, shown this once."""
        try:
            token: str = await self.writer(lambda c: account_store.create(c, name, tier, shares, credits, role))
        except account_store.AccountError as exc:
            raise (Conflict if "exists" in str(exc) else Invalid)(str(exc)) from None
        self.account_changed(name)
        return token

    async def accounts(self) -> list[dict[str, Any]]:
        """Every account with its credits and usage, for the admin."""
        return await self.writer(account_store.listing)

    async def top_up(self, name: str, amount: float) -> float:
        """Add credits to an account; its new credit total."""
        try:
            credits: float = await self.writer(lambda c: account_store.top_up(c, name, amount))
        except account_store.AccountError as exc:
            raise NotFound(str(exc)) from None
        return credits

    # -- what changes a job or the record ----------------------------------------------

    async def cancel(self, job_id: str, account: int) -> dict[str, Any]:
        """Cancel a queued job (nothing is charged) or stop a running one (billed to now)."""
        self.views.view(job_id, account)  # 404 for others' jobs
        job = self.book.live.get(job_id)
        if job is not None and job.state is JobState.QUEUED:
            await self.book.cancel_queued(job, time.time())
        elif job is not None and job.state is JobState.RUNNING and self.runner is not None:
            await self.runner.stop_job(job)
        return self.views.view(job_id, account)

    async def add_reservation(self, values: dict[str, Any]) -> dict[str, Any]:
        """Record reserved capacity in the public record."""
        if values["site"] not in self.billing.sites:
            raise Invalid(f"There is no site named {values['site']!r}; the sites are {', '.join(self.billing.sites)}.")
        if values["ends_at"] <= values["starts_at"]:
            raise Invalid("A reservation must end after it starts; fix ends_at.")
        values = {**values, "created_at": time.time()}
        rid = await self.writer(lambda c: reservation_store.add(c, values))
        return {"id": rid, **values}

    def events(self, job_id: str, after: int) -> AsyncIterator[Event]:
        """A job's events after ``after``: stored ones, its standing now, then live ones to its last."""
        return self.hub.job_stream(functools.partial(event_store.stored, self.engine, job_id), job_id, after,
                                   lambda: self.views.position_event(job_id))

    @property
    def scheduler_address(self) -> str:
        """Where community nodes connect."""
        if self.dispatcher is None:
            raise Invalid("The pool has not connected to its Dask cluster yet; try again in a moment.")
        return self.dispatcher.scheduler_address
