"""The writer: group commit on a real store, on the event loop for SQLite, in a thread for PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select

from jupyter_fairshare.pool.store.db import open_engine
from jupyter_fairshare.pool.store.writer import Writer

scratch = Table("writer_scratch", MetaData(), Column("id", Integer, primary_key=True), Column("note", String(2000)))


def _engine(url: str):
    engine = open_engine(url)
    scratch.drop(engine, checkfirst=True)
    scratch.create(engine)
    return engine


def _add(note: str, seen: list | None = None):
    def write(connection):
        if seen is not None:
            seen.append((threading.get_ident(), connection.exec_driver_sql("SELECT 1").scalar()))
        return connection.execute(insert(scratch).values(note=note)).inserted_primary_key[0]
    return write


def _add_many(connection, notes: list[str]) -> list[int]:
    return [connection.execute(insert(scratch).values(note=note)).inserted_primary_key[0] for note in notes]


def _fail(connection):
    connection.execute(insert(scratch).values(note="rolled back"))
    raise ValueError("this write fails")


def _notes(engine) -> list[str]:
    with engine.connect() as connection:
        return [row.note for row in connection.execute(select(scratch).order_by(scratch.c.id))]


@pytest.fixture
def engine(store_url):
    engine = _engine(store_url)
    yield engine
    engine.dispose()


def test_writes_commit_in_the_order_asked_and_a_failing_one_rolls_back_alone(engine):
    async def main():
        writer = Writer(engine)
        try:
            # A batched write first, so that the others join its batch rather than run alone.
            first = writer.batched(_add_many, "first")
            bad, last, also = writer(_fail), writer(_add("last")), writer.batched(_add_many, "also")
            results = await asyncio.gather(first, bad, last, also, return_exceptions=True)
        finally:
            writer.close()
        return results

    first, bad, last, also = asyncio.run(main())
    assert isinstance(bad, ValueError)
    assert first < last and first < also
    assert sorted(_notes(engine)) == ["also", "first", "last"]
    if engine.dialect.name == "sqlite":  # one loop turn, one batch: both items in one call
        assert first < also < last


def test_a_lone_write_on_sqlite_is_committed_before_the_call_returns(tmp_path):
    engine = _engine(f"sqlite:///{tmp_path / 'pool.db'}")

    async def main():
        writer = Writer(engine)
        try:
            written = writer(_add("at once"))
            return written.done(), await written
        finally:
            writer.close()

    done_at_once, row = asyncio.run(main())
    assert done_at_once and row == 1 and _notes(engine) == ["at once"]
    engine.dispose()


def test_a_lone_failing_write_reaches_its_caller_and_stores_nothing(engine):
    async def main():
        writer = Writer(engine)
        try:
            with pytest.raises(ValueError, match="this write fails"):
                await writer(_fail)
            return await writer(_add("after"))
        finally:
            writer.close()

    assert asyncio.run(main()) >= 1
    assert _notes(engine) == ["after"]


def test_batches_run_on_the_loop_for_sqlite_and_in_a_thread_for_postgresql(engine):
    seen: list = []

    async def main():
        writer = Writer(engine)
        try:
            await asyncio.gather(*(writer(_add(f"n{i}", seen)) for i in range(5)))
        finally:
            writer.close()
        return threading.get_ident()

    loop_thread = asyncio.run(main())
    threads = {thread for thread, _ in seen}
    assert len(threads) == 1
    if engine.dialect.name == "sqlite":
        assert threads == {loop_thread}
    else:
        assert threads != {loop_thread}
    assert _notes(engine) == [f"n{i}" for i in range(5)]


def test_sqlite_checkpoints_run_in_the_background(tmp_path):
    """Automatic checkpoints are off (they would fsync on the event loop); the writer's
    thread moves the WAL into the database file instead, so the file grows on its own."""
    path = tmp_path / "pool.db"
    engine = _engine(f"sqlite:///{path}")
    before = path.stat().st_size

    async def main():
        writer = Writer(engine)
        try:
            await asyncio.gather(*(writer(_add("x" * 1500)) for _ in range(1000)))
            deadline = time.monotonic() + 10
            while path.stat().st_size < before + 1_000_000 and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
        finally:
            writer.close()

    asyncio.run(main())
    assert path.stat().st_size >= before + 1_000_000
    engine.dispose()
