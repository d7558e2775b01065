"""A job's record in the store and the state changes it goes through.

Every change is a conditional update (``WHERE state = ... AND attempt = ...``) that reports
whether it happened. That single rule is what makes the pool safe to kill at any moment:
a result that comes back for an attempt that was already re-queued, cancelled or settled
changes nothing, so no job completes twice and no credit is charged twice (the ledger's
unique index on job and kind backs this up in the store itself).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy import Connection, insert, select, update

from ..wire import DONE, QUEUED, REQUEUED, STARTED
from . import events
from .policy import QueuedJob, decay
from .store.tables import accounts, admissions, blobs, jobs, ledger, waits


@dataclass
class LiveJob:
    """A queued or running job as the pool keeps it in memory."""

    id: str
    account: int
    account_name: str
    tier: str
    name: str
    kind: str
    cpus: float
    memory: int
    gpus: int
    max_cost: float
    hold: float
    submitted_at: float
    site_request: str | None = None
    deadline: float | None = None
    state: str = QUEUED
    attempt: int = 0
    site: str | None = None
    node: str | None = None
    started_at: float | None = None
    rate: float = 0.0
    progress: dict | None = None
    notebook: str | None = None
    cell: str | None = None
    cancel_requested: bool = False
    predicted_wait: float | None = None  # what the pool estimated at submission
    predicted_uncertainty: float | None = None
    greener: dict | None = None  # the greener window a deadline job waits for
    ended: object = field(default=None, repr=False)  # an asyncio.Event, set when the job settles

    def queued(self) -> QueuedJob:
        return QueuedJob(self.id, self.account_name, self.tier, self.cpus, self.memory, self.gpus,
                         self.submitted_at, self.site_request)


def admit(connection: Connection, job: LiveJob, payload: bytes, meta: dict) -> tuple[bool, float, events.Event | None]:
    """Hold the job's max cost and store it, or refuse it for credits.

    Returns (accepted, balance before, queued event). Refusals are committed too: they count
    in the published acceptance rate.
    """
    credits, held = connection.execute(
        select(accounts.c.credits, accounts.c.held).where(accounts.c.id == job.account)
    ).one()
    balance = credits - held
    accepted = balance >= job.hold
    connection.execute(insert(admissions).values(ts=job.submitted_at, tier=job.tier, site=job.site_request,
                                                 accepted=accepted, reason=None if accepted else "credits"))
    if not accepted:
        return False, balance, None
    connection.execute(update(accounts).where(accounts.c.id == job.account).values(held=accounts.c.held + job.hold))
    connection.execute(insert(jobs).values(
        id=job.id, account_id=job.account, name=job.name, kind=job.kind, state=QUEUED, cpus=job.cpus,
        memory=job.memory, gpus=job.gpus, max_cost=job.max_cost, hold=job.hold, deadline=job.deadline,
        site_request=job.site_request, attempt=0, submitted_at=job.submitted_at, cost=0.0, meta=meta,
        payload_size=len(payload),
    ))
    connection.execute(insert(blobs).values(job_id=job.id, kind="payload", data=payload))
    return True, balance, events.record(connection, job.id, job.account, QUEUED, {"state": QUEUED})


def refuse(connection: Connection, tier: str, site: str | None, reason: str) -> None:
    """Count a submission refused before admission (bad resources, too large)."""
    connection.execute(insert(admissions).values(ts=time.time(), tier=tier, site=site, accepted=False, reason=reason))


def start(connection: Connection, job: LiveJob, attempt: int, site: str, node: str, now: float) -> events.Event | None:
    changed = connection.execute(
        update(jobs).where(jobs.c.id == job.id, jobs.c.state == QUEUED)
        .values(state="running", attempt=attempt, site=site, node=node, started_at=now)
    ).rowcount
    if not changed:
        return None
    return events.record(connection, job.id, job.account, STARTED, {"state": "running", "site": site, "attempt": attempt})


def requeue(connection: Connection, job: LiveJob, attempt: int, reason: str) -> events.Event | None:
    """Put a running job back in the queue; its lost run is not billed."""
    changed = connection.execute(
        update(jobs).where(jobs.c.id == job.id, jobs.c.state == "running", jobs.c.attempt == attempt)
        .values(state=QUEUED, site=None, node=None, started_at=None)
    ).rowcount
    if not changed:
        return None
    return events.record(connection, job.id, job.account, REQUEUED, {"state": QUEUED, "reason": reason})


def cancel_queued(connection: Connection, job: LiveJob, now: float) -> events.Event | None:
    changed = connection.execute(
        update(jobs).where(jobs.c.id == job.id, jobs.c.state == QUEUED)
        .values(state="cancelled", reason="cancelled", finished_at=now)
    ).rowcount
    if not changed:
        return None
    connection.execute(update(accounts).where(accounts.c.id == job.account).values(held=accounts.c.held - job.hold))
    return events.record(connection, job.id, job.account, "cancelled",
                         {"state": "cancelled", "reason": "cancelled", "error": None, "bill": None})


def settle(connection: Connection, job: LiveJob, attempt: int, state: str, reason: str | None, error: str | None,
           bill: dict | None, result: bytes | None, usage: float, half_life: float, now: float) -> events.Event | None:
    """End a running attempt: store its result, charge its bill, release its hold, once."""
    total = bill["total"] if bill else 0.0
    changed = connection.execute(
        update(jobs).where(jobs.c.id == job.id, jobs.c.state == "running", jobs.c.attempt == attempt)
        .values(state=state, reason=reason, error=error, finished_at=now, cost=total, bill=bill)
    ).rowcount
    if not changed:
        return None
    if result is not None:
        connection.execute(insert(blobs).values(job_id=job.id, kind="result", data=result))
    row = connection.execute(select(accounts.c.usage, accounts.c.usage_at).where(accounts.c.id == job.account)).one()
    connection.execute(update(accounts).where(accounts.c.id == job.account).values(
        credits=accounts.c.credits - total, held=accounts.c.held - job.hold,
        usage=decay(row.usage, row.usage_at, now, half_life) + usage, usage_at=now,
    ))
    if total:
        connection.execute(insert(ledger).values(account_id=job.account, job_id=job.id, ts=now, kind="charge",
                                                 amount=-total, note=f"{state}, attempt {attempt}"))
    connection.execute(insert(waits).values(ts=now, tier=job.tier, site=job.site or "",
                                            wait=(job.started_at or now) - job.submitted_at,
                                            run=now - (job.started_at or now), predicted_wait=job.predicted_wait,
                                            predicted_uncertainty=job.predicted_uncertainty))
    return events.record(connection, job.id, job.account, state,
                         {"state": state, "reason": reason, "error": error, "bill": bill})


def public(row, live: LiveJob | None = None) -> dict:
    """A job row as the API shows it."""
    meta = row["meta"] or {}
    state = row["state"]
    out = {
        "id": row["id"], "name": row["name"], "kind": row["kind"], "state": state, "reason": row["reason"],
        "error": row["error"], "cpus": row["cpus"], "memory": row["memory"], "gpus": row["gpus"],
        "max_cost": row["max_cost"], "hold": row["hold"], "site": row["site"], "attempt": row["attempt"],
        "submitted_at": row["submitted_at"], "started_at": row["started_at"], "finished_at": row["finished_at"],
        "cost": row["cost"], "bill": row["bill"], "notebook": meta.get("notebook"), "cell": meta.get("cell"),
    }
    if live is not None and state not in (DONE, "failed", "cancelled"):
        out.update(state=live.state, site=live.site, attempt=live.attempt, started_at=live.started_at,
                   progress=live.progress)
    return out
