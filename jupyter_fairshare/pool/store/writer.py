"""Group commit: every write of the pool goes through one writer, in batches.

A submission is accepted only once it is committed. Batching all writes that arrive
together into one transaction turns N commits into one, which is what lets one pool
process accept thousands of durable submissions a second. Each write runs in its own
savepoint, so one that fails rolls back alone.

Where the batch runs depends on what a commit costs. On PostgreSQL it is a network round
trip and an fsync on the server, so batches run in a thread and collect the writes that
arrive while the previous commit is under way. On SQLite in WAL mode with
``synchronous=NORMAL`` a commit is a write into the page cache (the fsync happens at
checkpoints, which a background thread runs), so batches run on the event loop itself, at
the end of the loop iteration that queued them, and a lone write with nothing waiting runs
at once: that spares each write two thread hops and the lock handovers between the loop and
a writer thread, which cost more than the commit. Submissions are always batched.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

T = TypeVar("T")
Item = TypeVar("Item")
_Pending = tuple[Callable[..., Any], Any, "asyncio.Future[Any]", asyncio.AbstractEventLoop]
CHECKPOINT_EVERY = 1.0  # seconds between WAL checkpoints when batches run on the loop


class Writer:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._pending: list[_Pending] = []
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._closed = False
        self._on_loop = engine.dialect.name == "sqlite"
        # On the loop, batches keep one connection: checking one out of the engine's pool
        # for each batch cost more than a small batch's statements.
        self._connection = engine.connect() if self._on_loop else None
        self._flush_scheduled = False
        self._thread = threading.Thread(target=self._checkpoints if self._on_loop else self._run,
                                        name="fairshare-writer", daemon=True)
        self._thread.start()

    def __call__(self, fn: Callable[[Connection], T]) -> asyncio.Future[T]:
        """Queue ``fn(connection)`` for the next batch now; the future has its result once committed.

        Queueing happens at the call, not at the first await, so writes commit in the order
        they were asked for (an output chunk before the job's end).
        """
        return self._enqueue(fn, None)

    def batched(self, group: Callable[[Connection, list[Item]], list[T]], item: Item) -> asyncio.Future[T]:
        """Queue ``item`` for ``group(connection, items)``, called once for all the items of a
        batch: a hot write (a submission) then costs a few multi-row statements per batch
        instead of several statements per item. ``group`` returns one result per item."""
        return self._enqueue(group, item)

    def _enqueue(self, fn: Callable[..., Any], item: Any) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        with self._wake:
            if self._closed:
                raise RuntimeError("The pool's store is closed; the pool is shutting down.")
            self._pending.append((fn, item, future, loop))
            if not self._on_loop:
                self._wake.notify()
                return future
            alone = item is None and len(self._pending) == 1  # nothing to batch it with: no reason to wait
            if not alone and not self._flush_scheduled:
                self._flush_scheduled = True
                loop.call_soon(self._flush)
        if alone:
            self._flush()
        return future

    def run_sync(self, fn: Callable[[Connection], T]) -> T:
        """Run a write outside the event loop (admin commands, start-up)."""
        with self._engine.begin() as connection:
            return fn(connection)

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        if self._on_loop and self._pending:
            self._flush()
        self._thread.join(timeout=10)
        if self._connection is not None:
            self._connection.close()

    def _flush(self) -> None:
        with self._wake:
            batch, self._pending = self._pending, []
            self._flush_scheduled = False
        for (_fn, _item, future, _loop), (ok, value) in zip(batch, self._commit(batch), strict=True):
            _settle(future, ok, value)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._closed:
                    self._wake.wait()
                batch, self._pending = self._pending, []
                if not batch and self._closed:
                    return
            for (_fn, _item, future, loop), (ok, value) in zip(batch, self._commit(batch), strict=True):
                loop.call_soon_threadsafe(_settle, future, ok, value)

    def _checkpoints(self) -> None:
        """Move the WAL into the database file now and then, off the event loop (the fsync)."""
        while True:
            with self._wake:
                self._wake.wait_for(lambda: self._closed, timeout=CHECKPOINT_EVERY)
                if self._closed:
                    return
            try:
                with self._engine.connect() as connection:
                    connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
            except Exception:  # noqa: BLE001 - a missed checkpoint is retried at the next one
                continue

    def _commit(self, batch: list[_Pending]) -> list[tuple[bool, Any]]:
        """Run a batch in one transaction; (ok, result or exception) per write, in order."""
        units: dict[Callable[..., Any] | int, list[int]] = {}  # a write alone, or all the items of one group
        for index, (fn, item, _future, _loop) in enumerate(batch):
            units.setdefault(fn if item is not None else index, []).append(index)
        alone = len(units) == 1  # nothing to keep apart: a failure rolls back the transaction anyway
        outcomes: dict[int, tuple[bool, Any]] = {}
        try:
            with self._transaction() as connection:
                for members in units.values():
                    fn, item = batch[members[0]][:2]
                    savepoint = None if alone else connection.begin_nested()
                    try:
                        if item is None:
                            results = [fn(connection)]
                        else:
                            results = fn(connection, [batch[i][1] for i in members])
                        if savepoint is not None:
                            savepoint.commit()
                        outcomes.update((i, (True, r)) for i, r in zip(members, results, strict=True))
                    except BaseException as exc:  # handed to the awaiting callers
                        if savepoint is None:
                            raise
                        savepoint.rollback()
                        outcomes.update((i, (False, exc)) for i in members)
        except BaseException as exc:  # the commit itself failed: every write in it failed
            outcomes = {i: (False, exc) for i in range(len(batch))}
        return [outcomes[i] for i in range(len(batch))]


    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Connection]:
        if self._connection is None:
            with self._engine.begin() as connection:
                yield connection
            return
        if self._connection.invalidated:  # the file went away under it, say: start afresh
            self._connection.close()
            self._connection = self._engine.connect()
        with self._connection.begin():
            yield self._connection


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.done():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)
