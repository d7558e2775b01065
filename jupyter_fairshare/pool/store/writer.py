"""Group commit: every write of the pool goes through one writer thread in batches.

A submission is accepted only once it is committed, and a commit costs an fsync. Batching
all writes that arrive while the previous commit runs into one transaction turns N fsyncs
into one, which is what lets one pool process accept thousands of durable submissions a
second. Each write runs in its own savepoint, so one that fails rolls back alone.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

T = TypeVar("T")


class Writer:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._pending: list[tuple[Callable, Any, asyncio.Future, asyncio.AbstractEventLoop]] = []
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="fairshare-writer", daemon=True)
        self._thread.start()

    def __call__(self, fn: Callable[[Connection], T]) -> asyncio.Future:
        """Queue ``fn(connection)`` for the next batch now; the future has its result once committed.

        Queueing happens at the call, not at the first await, so writes commit in the order
        they were asked for (an output chunk before the job's end).
        """
        return self._enqueue(fn, None)

    def batched(self, group: Callable[[Connection, list], list], item: Any) -> asyncio.Future:
        """Queue ``item`` for ``group(connection, items)``, called once for all the items of a
        batch: a hot write (a submission) then costs a few multi-row statements per batch
        instead of several statements per item. ``group`` returns one result per item."""
        return self._enqueue(group, item)

    def _enqueue(self, fn: Callable, item: Any) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()
        with self._wake:
            if self._closed:
                raise RuntimeError("The pool's store is closed; the pool is shutting down.")
            self._pending.append((fn, item, future, loop))
            self._wake.notify()
        return future

    def run_sync(self, fn: Callable[[Connection], T]) -> T:
        """Run a write outside the event loop (admin commands, start-up)."""
        with self._engine.begin() as connection:
            return fn(connection)

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._closed:
                    self._wake.wait()
                batch, self._pending = self._pending, []
                if not batch and self._closed:
                    return
            self._commit(batch)

    def _commit(self, batch: list) -> None:
        outcomes: dict[int, tuple[bool, Any]] = {}
        groups: dict[Callable, list[int]] = {}
        for index, (fn, item, _future, _loop) in enumerate(batch):
            if item is not None:
                groups.setdefault(fn, []).append(index)
        try:
            with self._engine.begin() as connection:
                for index, (fn, item, _future, _loop) in enumerate(batch):
                    if index in outcomes:
                        continue
                    members = groups.get(fn, [index]) if item is not None else [index]
                    savepoint = connection.begin_nested()
                    try:
                        if item is None:
                            results = [fn(connection)]
                        else:
                            results = fn(connection, [batch[i][1] for i in members])
                        savepoint.commit()
                        outcomes.update((i, (True, r)) for i, r in zip(members, results))
                    except BaseException as exc:  # handed to the awaiting callers
                        savepoint.rollback()
                        outcomes.update((i, (False, exc)) for i in members)
        except BaseException as exc:  # the commit itself failed: every write in it failed
            outcomes = {i: (False, exc) for i in range(len(batch))}
        for index, (_fn, _item, future, loop) in enumerate(batch):
            ok, value = outcomes[index]
            loop.call_soon_threadsafe(_settle, future, ok, value)


def _settle(future: asyncio.Future, ok: bool, value: Any) -> None:
    if future.done():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)
