"""A job's events in the store: the durable half of what ``hub.py`` pushes live.

An event's store sequence number is its id: a listener that reconnects with
``Last-Event-ID`` resumes from here without gaps or repeats.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from .prepared import Prepared
from .tables import events


@dataclass(frozen=True)
class Event:
    """One event of a job; ``seq`` is 0 for a transient one (a cost tick) that is not stored."""

    seq: int
    job: str
    account: int
    type: str
    data: dict[str, Any]

    def sse(self) -> bytes:
        body = json.dumps({"job": self.job, **self.data}, separators=(",", ":"))
        return f"id: {self.seq}\nevent: {self.type}\ndata: {body}\n\n".encode()


_INSERT = Prepared(insert(events).returning(events.c.seq))  # on the hot path of every job


def record(connection: Connection, job: str, account: int, type: str, data: dict[str, Any],
           ts: float | None = None) -> Event:
    """Write an event in the caller's transaction; publish the returned event after commit."""
    cursor = _INSERT.run(connection, {"job_id": job, "account_id": account, "type": str(type), "data": data,
                                      "ts": time.time() if ts is None else ts})
    (seq,) = cursor.fetchone()
    cursor.close()
    return Event(seq, job, account, str(type), data)


def stored(engine: Engine, job: str, after: int) -> list[Event]:
    """A job's stored events after sequence number ``after``, oldest first."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(events.c.seq, events.c.job_id, events.c.account_id, events.c.type, events.c.data)
            .where(events.c.job_id == job, events.c.seq > after)
            .order_by(events.c.seq)
        ).all()
    return [Event(*row) for row in rows]
