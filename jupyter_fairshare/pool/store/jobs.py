"""A job's record in the store and the state changes it goes through.

Every change is a conditional update (``WHERE state = ... AND attempt = ...``) that reports
whether it happened. That single rule is what makes the pool safe to kill at any moment:
a result that comes back for an attempt that was already re-queued, cancelled or settled
changes nothing, so no job completes twice and no credit is charged twice (the ledger's
unique index on job and kind backs this up in the store itself).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, bindparam, insert, select, update

from ...protocol import FINAL_STATES, EventType, JobState
from ..live import LiveJob
from ..policy import decay
from . import events
from .prepared import Prepared
from .tables import accounts, admissions, blobs, jobs, ledger, waits

QUEUED, RUNNING, CANCELLED = JobState.QUEUED.value, JobState.RUNNING.value, JobState.CANCELLED.value


def payload_size(payload: bytes | Path) -> int:
    """A payload's size in bytes, whether held in memory or spooled to a file."""
    return payload.stat().st_size if isinstance(payload, Path) else len(payload)


# The statements of the hot path (admit, start, settle), compiled once and run on the
# driver's cursor (see store.prepared): SQLAlchemy's work per execution cost several times
# what SQLite spends running them.
_START = Prepared(update(jobs).where(jobs.c.id == bindparam("_id"), jobs.c.state == QUEUED)
                  .values(state=RUNNING, attempt=bindparam("attempt"), site=bindparam("site"),
                          node=bindparam("node"), started_at=bindparam("started_at")))
_END = Prepared(update(jobs).where(jobs.c.id == bindparam("_id"), jobs.c.state == RUNNING,
                                   jobs.c.attempt == bindparam("_attempt"))
                .values(state=bindparam("state"), reason=bindparam("reason"), error=bindparam("error"),
                        finished_at=bindparam("finished_at"), cost=bindparam("cost"), bill=bindparam("bill")))
_USAGE = Prepared(select(accounts.c.usage, accounts.c.usage_at).where(accounts.c.id == bindparam("_id")))
_CHARGE = Prepared(update(accounts).where(accounts.c.id == bindparam("_id"))
                   .values(credits=accounts.c.credits - bindparam("total"), held=accounts.c.held - bindparam("hold"),
                           usage=bindparam("usage"), usage_at=bindparam("usage_at")))
_HOLD = Prepared(update(accounts).where(accounts.c.id == bindparam("_id"))
                 .values(held=accounts.c.held + bindparam("amount")))
_OWNER = Prepared(select(jobs.c.account_id).where(jobs.c.id == bindparam("_id")))
_BALANCE = Prepared(select(accounts.c.credits - accounts.c.held).where(accounts.c.id == bindparam("_id")))
_INSERT_ADMISSION, _INSERT_JOB = Prepared(insert(admissions)), Prepared(insert(jobs))
_INSERT_BLOB = Prepared(insert(blobs))
_INSERT_LEDGER, _INSERT_WAIT = Prepared(insert(ledger)), Prepared(insert(waits))


Admission = tuple[LiveJob, "bytes | Path", dict[str, Any]]


def admit(connection: Connection, items: list[Admission]) -> list[tuple[str, float, events.Event | None]]:
    """Hold each job's max cost and store it, or refuse it, for a whole batch of submissions.

    One batch costs a handful of multi-row statements, whatever its size. Each item's result
    is (outcome, balance before, queued event), outcome being "accepted", "credits" (refused
    for credits), "exists" (a resubmission of the caller's own id) or "conflict" (another
    account's id). Refusals are stored too: they count in the published acceptance rate.
    """
    owners: dict[str, int] = {}
    for job, _, _ in items:
        if (row := _OWNER.run(connection, {"_id": job.id}).fetchone()) is not None:
            owners[job.id] = row[0]
    balances = {account: _BALANCE.run(connection, {"_id": account}).fetchone()[0]
                for account in sorted({job.account for job, _, _ in items})}
    results: list[tuple[str, float, Any]] = []
    admitted: list[dict[str, Any]] = []
    job_rows: list[dict[str, Any]] = []
    blob_rows: list[dict[str, Any]] = []
    event_rows: list[dict[str, Any]] = []
    held: dict[int, float] = {}
    for job, payload, meta in items:
        if job.id in owners:
            results.append(("exists" if owners[job.id] == job.account else "conflict", 0.0, None))
            continue
        owners[job.id] = job.account
        balance = balances[job.account]
        accepted = balance >= job.hold
        admitted.append({"ts": job.submitted_at, "tier": job.tier, "site": job.site_request, "accepted": accepted,
                         "reason": None if accepted else "credits"})
        if not accepted:
            results.append(("credits", balance, None))
            continue
        balances[job.account] -= job.hold
        held[job.account] = held.get(job.account, 0.0) + job.hold
        job_rows.append({
            "id": job.id, "account_id": job.account, "name": job.name, "kind": job.kind, "state": QUEUED,
            "cpus": job.cpus, "memory": job.memory, "gpus": job.gpus, "max_cost": job.max_cost, "hold": job.hold,
            "deadline": job.deadline, "site_request": job.site_request, "attempt": 0,
            "submitted_at": job.submitted_at, "cost": 0.0, "meta": meta, "payload_size": payload_size(payload),
        })
        stored = {"data": None, "path": str(payload)} if isinstance(payload, Path) else {"data": payload, "path": None}
        blob_rows.append({"job_id": job.id, "kind": "payload", **stored})
        event_rows.append({"job_id": job.id, "account_id": job.account, "type": EventType.QUEUED.value,
                           "data": {"state": QUEUED},
                           "ts": job.submitted_at})
        results.append(("accepted", balance, len(event_rows) - 1))
    if admitted:
        _INSERT_ADMISSION.run_many(connection, admitted)
    if job_rows:
        _INSERT_JOB.run_many(connection, job_rows)
        _INSERT_BLOB.run_many(connection, blob_rows)
        _HOLD.run_many(connection, [{"_id": account, "amount": amount} for account, amount in held.items()])
        queued = [events.record(connection, row["job_id"], row["account_id"], EventType.QUEUED, row["data"], row["ts"])
                  for row in event_rows]
        results = [(outcome, balance, queued[ref] if outcome == "accepted" else None)
                   for outcome, balance, ref in results]
    return results


def refuse(connection: Connection, tier: str, site: str | None, reason: str) -> None:
    """Count a submission refused before admission (bad resources, too large)."""
    connection.execute(insert(admissions).values(ts=time.time(), tier=tier, site=site, accepted=False, reason=reason))


def start(connection: Connection, job: LiveJob, attempt: int, site: str, node: str, now: float) -> events.Event | None:
    """Record that an attempt started, unless the job left the queue meanwhile."""
    changed = _START.run(connection, {"_id": job.id, "attempt": attempt, "site": site, "node": node,
                                      "started_at": now}).rowcount
    if not changed:
        return None
    return events.record(connection, job.id, job.account, EventType.STARTED,
                         {"state": RUNNING, "site": site, "attempt": attempt})


def requeue(connection: Connection, job: LiveJob, attempt: int, reason: str) -> events.Event | None:
    """Put a running job back in the queue; its lost run is not billed."""
    changed = connection.execute(
        update(jobs).where(jobs.c.id == job.id, jobs.c.state == RUNNING, jobs.c.attempt == attempt)
        .values(state=QUEUED, site=None, node=None, started_at=None)
    ).rowcount
    if not changed:
        return None
    return events.record(connection, job.id, job.account, EventType.REQUEUED, {"state": QUEUED, "reason": reason})


def cancel_queued(connection: Connection, job: LiveJob, now: float) -> events.Event | None:
    """Cancel a job still in the queue and release its hold; nothing is charged."""
    changed = connection.execute(
        update(jobs).where(jobs.c.id == job.id, jobs.c.state == QUEUED)
        .values(state=CANCELLED, reason=CANCELLED, finished_at=now)
    ).rowcount
    if not changed:
        return None
    connection.execute(update(accounts).where(accounts.c.id == job.account).values(held=accounts.c.held - job.hold))
    return events.record(connection, job.id, job.account, EventType.CANCELLED,
                         {"state": CANCELLED, "reason": CANCELLED, "error": None, "bill": None,
                          "finished_at": now, "cost": 0.0})


def settle(connection: Connection, job: LiveJob, attempt: int, state: str, reason: str | None, error: str | None,
           bill: dict[str, Any] | None, result: bytes | None, usage: float, half_life: float,
           now: float) -> events.Event | None:
    """End a running attempt: store its result, charge its bill, release its hold, once."""
    total = bill["total"] if bill else 0.0
    changed = _END.run(connection, {"_id": job.id, "_attempt": attempt, "state": state, "reason": reason,
                                    "error": error, "finished_at": now, "cost": total, "bill": bill}).rowcount
    if not changed:
        return None
    if result is not None:
        _INSERT_BLOB.run(connection, {"job_id": job.id, "kind": "result", "data": result, "path": None})
    past, past_at = _USAGE.run(connection, {"_id": job.account}).fetchone()
    _CHARGE.run(connection, {"_id": job.account, "total": total, "hold": job.hold,
                             "usage": decay(past, past_at, now, half_life) + usage, "usage_at": now})
    if total:
        _INSERT_LEDGER.run(connection, {"account_id": job.account, "job_id": job.id, "ts": now, "kind": "charge",
                                        "amount": -total, "note": f"{state}, attempt {attempt}"})
    _INSERT_WAIT.run(connection, {"ts": now, "tier": job.tier, "site": job.site or "",
                                  "wait": (job.started_at or now) - job.submitted_at,
                                  "run": now - (job.started_at or now), "predicted_wait": job.predicted_wait,
                                  "predicted_uncertainty": job.predicted_uncertainty})
    # The final event carries what a follower would otherwise ask for again (times, cost).
    return events.record(connection, job.id, job.account, state,
                         {"state": state, "reason": reason, "error": error, "bill": bill,
                          "finished_at": now, "cost": total})


def public(row: RowMapping, live: LiveJob | None = None) -> dict[str, Any]:
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
    if live is not None and state not in FINAL_STATES:
        out.update(state=live.state.value, site=live.site, attempt=live.attempt, started_at=live.started_at,
                   progress=live.progress)
    return out


def recoverable(connection: Connection) -> Sequence[RowMapping]:
    """The jobs a stopped pool left queued or running, oldest first, with their account."""
    return connection.execute(
        select(jobs, accounts.c.name.label("account_name"), accounts.c.tier)
        .join(accounts, accounts.c.id == jobs.c.account_id)
        .where(jobs.c.state.in_((QUEUED, RUNNING)))
        .order_by(jobs.c.submitted_at)
    ).mappings().all()


def row(engine: Engine, job_id: str, account: int) -> RowMapping | None:
    """One job of one account, or None (another account's job is as good as absent)."""
    with engine.connect() as connection:
        return connection.execute(
            select(jobs).where(jobs.c.id == job_id, jobs.c.account_id == account)
        ).mappings().first()


def listing(engine: Engine, account: int, state: str | None, limit: int) -> Sequence[RowMapping]:
    """An account's jobs, newest first, optionally in one state."""
    query = select(jobs).where(jobs.c.account_id == account)
    if state:
        query = query.where(jobs.c.state == state)
    with engine.connect() as connection:
        return connection.execute(query.order_by(jobs.c.submitted_at.desc()).limit(limit)).mappings().all()


def result(engine: Engine, job_id: str) -> bytes | None:
    """A settled job's result blob, or None when it left none."""
    with engine.connect() as connection:
        data: bytes | None = connection.execute(
            select(blobs.c.data).where(blobs.c.job_id == job_id, blobs.c.kind == "result")
        ).scalar()
    return data


def payload(engine: Engine, job_id: str) -> bytes | Path:
    """A job's payload: its bytes, or the path of its spool file."""
    with engine.connect() as connection:
        data, path = connection.execute(
            select(blobs.c.data, blobs.c.path).where(blobs.c.job_id == job_id, blobs.c.kind == "payload")
        ).one()
    return Path(path) if path else bytes(data)
