"""Live fan-out of a job's events to the listeners of that job and of its account.

An event is published only after the transaction that wrote it committed (the job book
publishes what the writer's future returns), so what a listener sees is never something
a crash could take back. A listener that joins late first reads the store, then the live
queue, skipping what it already had by sequence number.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from typing import Any

from ..protocol import FINAL_STATES
from .store.events import Event


class Hub:
    """Fans events out to the listeners of a job and of an account."""

    def __init__(self) -> None:
        self._by_job: dict[str, set[asyncio.Queue[Event]]] = defaultdict(set)
        self._by_account: dict[int, set[asyncio.Queue[Event]]] = defaultdict(set)

    def publish(self, event: Event, live: dict[str, Any] | None = None) -> None:
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

    def transient(self, job: str, account: int, type: str, data: dict[str, Any]) -> None:
        """Publish an event that is not worth a write (cost ticks): it carries no id to resume from."""
        self.publish(Event(0, job, account, str(type), data))

    async def job_stream(self, stored: Callable[[int], list[Event]], job: str, after: int = 0,
                         current: Callable[[], Event | None] | None = None) -> AsyncIterator[Event]:
        """A job's events from the store (``stored(after)``, run in a thread), then live until a final one.

        ``current()`` may give a transient event with the job's standing right now, sent
        after the stored ones so a listener that joins late still learns its position.
        """
        queue: asyncio.Queue[Event] = asyncio.Queue()
        self._by_job[job].add(queue)
        try:
            last = after
            for event in await asyncio.to_thread(stored, after):
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
        """All events of an account's jobs, live, for as long as the listener stays."""
        queue: asyncio.Queue[Event] = asyncio.Queue()
        self._by_account[account].add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._by_account[account].discard(queue)
