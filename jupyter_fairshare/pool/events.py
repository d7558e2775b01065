"""The event hub: a job's events, durable in the store and pushed live to listeners.

An event is published to listeners only after the transaction that wrote it committed, so
what a listener sees is never something a crash could take back, and the store's sequence
number is the event's id: a listener that reconnects with ``Last-Event-ID`` resumes from
the store without gaps or repeats.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select

from ..wire import FINAL_STATES
from .store.prepared import Prepared
from .store.tables import events


@dataclass(frozen=True)
class Event:
    seq: int
    job: str
    account: int
    type: str
    data: dict

    def sse(self) -> bytes:
        body = json.dumps({"job": self.job, **self.data}, separators=(",", ":"))
        return f"id: {self.seq}\nevent: {self.type}\ndata: {body}\n\n".encode()


_INSERT = Prepared(insert(events).returning(events.c.seq))  # on the hot path of every job


def record(connection: Connection, job: str, account: int, type: str, data: dict, ts: float | None = None) -> Event:
    """Write an event in the caller's transaction; publish the returned event after commit."""
    cursor = _INSERT.run(connection, {"job_id": job, "account_id": account, "type": type, "data": data,
                                      "ts": time.time() if ts is None else ts})
    (seq,) = cursor.fetchone()
    cursor.close()
    return Event(seq, job, account, type, data)


class Hub:
    """Fans events out to the listeners of a job and of an account."""

    def __init__(self) -> None:
        self._by_job: dict[str, set[asyncio.Queue]] = defaultdict(set)
        self._by_account: dict[int, set[asyncio.Queue]] = defaultdict(set)
        self._live_seq = 0

    def publish(self, event: Event, live: dict | None = None) -> None:
        """Push ``event`` to its listeners; ``live`` adds fields for the job's own listeners
        only, that are not stored with it (a small result, which account listeners such as
        the sidebar have no use for)."""
        for_job = event if not live else Event(event.seq, event.job, event.account, event.type, {**event.data, **live})
        for queue in self._by_job.get(event.job, ()):
            queue.put_nowait(for_job)
        for queue in self._by_account.get(event.account, ()):
            queue.put_nowait(event)

    def listened(self, job: str) -> bool:
        return bool(self._by_job.get(job))

    def listened_accounts(self) -> set[int]:
        return {account for account, queues in self._by_account.items() if queues}

    def transient(self, job: str, account: int, type: str, data: dict) -> None:
        """Publish an event that is not worth a write (cost ticks): it carries no id to resume from."""
        self.publish(Event(0, job, account, type, data))

    async def job_stream(self, engine, job: str, after: int = 0, current=None) -> AsyncIterator[Event]:
        """A job's events from the store after ``after``, then live until a final one.

        ``current()`` may give a transient event with the job's standing right now, sent
        after the stored ones so a listener that joins late still learns its position.
        """
        queue: asyncio.Queue = asyncio.Queue()
        self._by_job[job].add(queue)
        try:
            stored = await asyncio.to_thread(_stored, engine, job, after)
            last = after
            for event in stored:
                last = event.seq
                yield event
                if event.type in FINAL_STATES:
                    return
            now_event = current() if current is not None else None
            if now_event is not None:
                yield now_event
            while True:
                event = await queue.get()
                if event.seq and event.seq <= last:
                    continue
                yield event
                if event.type in FINAL_STATES:
                    return
        finally:
            self._by_job[job].discard(queue)
            if not self._by_job[job]:
                del self._by_job[job]

    async def account_stream(self, account: int) -> AsyncIterator[Event]:
        queue: asyncio.Queue = asyncio.Queue()
        self._by_account[account].add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._by_account[account].discard(queue)


def _stored(engine, job: str, after: int) -> list[Event]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(events.c.seq, events.c.job_id, events.c.account_id, events.c.type, events.c.data)
            .where(events.c.job_id == job, events.c.seq > after)
            .order_by(events.c.seq)
        ).all()
    return [Event(*row) for row in rows]
