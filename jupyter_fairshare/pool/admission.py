"""Admission: a submission's headers and byte stream in, a stored, queued job out.

Everything a submission can be refused for is checked here, before or while it is stored:
its metadata, its size (declared and actual), whether any worker could ever hold it, and
(in the same batched transaction that stores it) whether its max cost fits the balance.
Large payloads are streamed into a spool file as they arrive, so the pool never holds one
whole in memory; a client on the pool's own host may write that file itself and name it.
Refusals are counted in the store too: they are part of the published acceptance rate.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .. import spoolfiles
from .errors import Conflict, CreditsTooLow, Invalid, NoSiteFits, PayloadTooLarge
from .http.schemas import JobSpec, sentence
from .lifecycle import JobBook
from .live import LiveJob
from .policy import Node, fits_somewhere
from .store import jobs as job_store
from .store.accounts import Principal
from .views import Views

SPOOL_NAME = re.compile(r"[0-9a-f]{32}\.part")
KEEP_PAYLOAD = 64 * 1024  # small payloads stay in memory until dispatch, sparing a store read


class Admission:
    """Turns submissions into jobs in the book, or into one refusal that says what to do."""

    def __init__(self, book: JobBook, views: Views, nodes: Callable[[], list[Node]],
                 start_now: Callable[[float], None], new_account: Callable[[str], None]) -> None:
        """``start_now(now)`` lets a job that finds a free worker start in the request that
        brought it; ``new_account(name)`` tells the scheduler about an account's first job."""
        self.book = book
        self.config = book.config
        self.writer = book.writer
        self.views = views
        self._nodes = nodes
        self._start_now = start_now
        self._new_account = new_account
        self._known_accounts: set[str] = set()

    def known(self, name: str) -> None:
        """An account the scheduler already knows about."""
        self._known_accounts.add(name)

    async def spec(self, principal: Principal, header: str | None) -> JobSpec:
        """The submission's metadata from its ``Fairshare-Job`` header."""
        if header is None:
            raise Invalid("The Fairshare-Job header is missing; send the job's metadata as JSON in it.")
        try:
            return JobSpec.model_validate_json(header)
        except ValidationError as exc:
            await self.writer(lambda c: job_store.refuse(c, principal.tier, None, "metadata"))
            raise Invalid(sentence(exc.errors())) from None

    async def receive(self, principal: Principal, spec: JobSpec, headers: Mapping[str, str],
                      body: AsyncIterator[bytes]) -> bytes | Path:
        """The request's payload: bytes when small, else streamed into a spool file as it
        arrives, so a large payload is never held whole in the pool's memory."""
        if name := headers.get("fairshare-payload-file"):
            return self._adopt(name)
        declared = int(headers.get("content-length") or 0)
        if declared > self.config.payload_limit:
            await self._too_large(principal, spec, declared)
        if declared <= self.config.spool_threshold:
            return b"".join([chunk async for chunk in body])
        self.book.spool.mkdir(parents=True, exist_ok=True)
        path = self.book.spool / f"{uuid.uuid4().hex}.part"
        try:
            with spoolfiles.new_file(path, declared) as handle:
                async for chunk in body:
                    handle.write(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path

    def _adopt(self, name: str) -> Path:
        """A payload a client on this host wrote straight into the spool (see ``Views.spool_info``).

        Only a bare ``<32 hex>.part`` name in the spool is accepted, and only a regular file,
        so a request cannot point the pool at anything else on the machine.
        """
        path = self.book.spool / name
        if not SPOOL_NAME.fullmatch(name) or not path.is_file() or path.is_symlink():
            raise Invalid(f"No spooled payload named {name!r}; write it into the spool directory "
                          "GET /api/v1/spool names, or send the payload as the request body.")
        return path

    async def _too_large(self, principal: Principal, spec: JobSpec, size: int) -> None:
        await self.writer(lambda c: job_store.refuse(c, principal.tier, spec.site, "payload too large"))
        raise PayloadTooLarge(f"The payload is {size_text(size)} but this pool accepts at most "
                              f"{size_text(self.config.payload_limit)}; send less data, e.g. load it on the worker.",
                              limit=self.config.payload_limit, size=size)

    async def submit(self, principal: Principal, spec: JobSpec, payload: bytes | Path) -> dict[str, Any]:
        """Admit a job: the job as its owner sees it, once it is stored and queued."""
        try:
            size = job_store.payload_size(payload)
            if size > self.config.payload_limit:
                await self._too_large(principal, spec, size)
            return await self._admit(principal, spec, payload)
        finally:
            if isinstance(payload, Path):
                payload.unlink(missing_ok=True)  # linked to the job's own name when admitted

    async def _admit(self, principal: Principal, spec: JobSpec, payload: bytes | Path) -> dict[str, Any]:
        sites = self.book.billing.sites
        if spec.site is not None and spec.site not in sites:
            raise Invalid(f"There is no site named {spec.site!r}; the sites are {', '.join(sites)}.")
        live = self.book.live.get(spec.id) if spec.id is not None else None
        if live is not None and live.account == principal.id:
            return self.views.view(live.id, principal.id)
        now = time.time()
        max_cost = spec.max_cost or self.config.default_max_cost
        job = LiveJob(
            id=spec.id or uuid.uuid4().hex, account=principal.id, account_name=principal.name, tier=principal.tier,
            name=spec.name, kind=spec.kind, cpus=spec.cpus, memory=int(spec.memory), gpus=spec.gpus,
            max_cost=max_cost, hold=max_cost, submitted_at=now, site_request=spec.site,
            deadline=(now + spec.deadline) if spec.deadline else None, notebook=spec.notebook, cell=spec.cell,
        )
        if principal.name not in self._known_accounts:
            self._known_accounts.add(principal.name)
            self._new_account(principal.name)
        nodes = self._nodes()
        if nodes and not fits_somewhere(job.queued(), nodes):
            await self.writer(lambda c: job_store.refuse(c, principal.tier, spec.site, "resources"))
            raise NoSiteFits(_no_fit(job, nodes))
        meta = {"versions": spec.versions, "notebook": spec.notebook, "cell": spec.cell}
        linked = False
        if isinstance(payload, Path):
            spooled = self.book.spool / f"{job.id}.payload"
            try:
                os.link(payload, spooled)  # the job's own name, kept if it is admitted
                linked = True
            except FileExistsError:  # a resubmission: admission below says whose it is
                pass
            payload, job.spooled = spooled, True
        outcome, balance, event = await self.writer.batched(job_store.admit, (job, payload, meta))
        if outcome != "accepted" and linked and isinstance(payload, Path):
            payload.unlink(missing_ok=True)
        if outcome == "exists":
            return self.views.view(job.id, principal.id)
        if outcome == "conflict":
            raise Conflict("That job id is taken; let the client choose a fresh one.")
        if outcome == "credits":
            raise CreditsTooLow(f"This job may cost up to {job.hold:.4f} credits (its max cost) but your balance is "
                                f"{balance:.4f} credits; lower --max-cost or ask the pool's operator for a top-up.",
                                estimate=job.hold, balance=balance)
        assert event is not None  # an accepted job always has its queued event
        job.payload = payload if isinstance(payload, bytes) and len(payload) <= KEEP_PAYLOAD else None
        self.book.admitted(job, event, now)
        out = self.views.with_standing(job.public(), now)
        if out.get("expected_start") is not None:
            standing = self.views.standing(job.id, now)
            self.book.predicted(job, out["expected_start"] - now, standing.uncertainty if standing else None)
        if self.book.scheduler.has_room:  # start it in this request rather than at the next cycle
            self._start_now(time.time())
        return out


def size_text(n: float) -> str:
    """A byte count for a sentence: 512 B, 1.5 MB."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"


def _no_fit(job: LiveJob, nodes: list[Node]) -> str:
    biggest = max(nodes, key=lambda n: (n.gpus, n.cpus, n.memory))
    return (f"No site can offer {job.cpus:g} CPUs, {size_text(job.memory)} of memory and {job.gpus} GPUs at once; "
            f"the largest worker has {biggest.cpus:g} CPUs, {size_text(biggest.memory)} and {biggest.gpus} GPUs, "
            "so ask for less.")
