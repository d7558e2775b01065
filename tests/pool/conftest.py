"""Fixtures for driving the pool's managers directly: a real store, no HTTP and no Dask.

``parts`` is a :class:`Pool` that was never started: its store, writer, job book,
admission, views and billing are the real ones, the dispatcher and run loop are absent,
so a test plays the run loop's part by calling the job book's methods itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from jupyter_fairshare.pool.config import PoolConfig
from jupyter_fairshare.pool.policy import Node, SiteState
from jupyter_fairshare.pool.pool import Pool
from jupyter_fairshare.pool.store import accounts
from jupyter_fairshare.pool.store.accounts import Principal

NODE = Node("tcp://127.0.0.1:1", "local", 4.0, 8 * 10**9, 0)


@pytest.fixture
async def parts(tmp_path: Path) -> AsyncIterator[Pool]:
    """An unstarted pool on a fresh SQLite store with one 4-CPU worker known to the scheduler."""
    pool = Pool(PoolConfig(db_url=f"sqlite:///{tmp_path / 'pool.db'}", data_dir=tmp_path, spool_threshold=1024,
                           payload_limit=100_000))
    price = pool.billing.prices["local"].unit("cpu_second")
    pool.scheduler.set_nodes([NODE], {"local": SiteState("local", 250.0, price)})
    try:
        yield pool
    finally:
        pool.writer.close()
        pool.engine.dispose()


def account(pool: Pool, name: str = "ada", credits: float = 10.0, tier: str = "standard") -> Principal:
    """A new account in the pool's store, as the principal a request would carry."""
    with pool.engine.begin() as connection:
        token = accounts.create(connection, name, tier, credits=credits)
    return pool.principal(token)


def balance(pool: Pool, name: str) -> dict:
    """An account's credits, holds and usage as stored."""
    with pool.engine.connect() as connection:
        return dict(accounts.by_name(connection, name))


async def body(*chunks: bytes) -> AsyncIterator[bytes]:
    """A request body as the HTTP layer hands it over: an async stream of chunks."""
    for chunk in chunks:
        yield chunk
