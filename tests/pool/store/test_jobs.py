"""A job's rows: every change is a conditional update that happens once, or reports that it did not."""

from __future__ import annotations

import time

from jupyter_fairshare.pool.config import PoolConfig
from jupyter_fairshare.pool.live import LiveJob
from jupyter_fairshare.pool.store import accounts, jobs
from jupyter_fairshare.pool.store.db import open_engine


def _stored_job(connection, account: int) -> LiveJob:
    job = LiveJob(id="c" * 32, account=account, account_name="ada", tier="standard", name="", kind="call",
                  cpus=1.0, memory=10**9, gpus=0, max_cost=2.0, hold=2.0, submitted_at=time.time())
    ((outcome, _balance, event),) = jobs.admit(connection, [(job, b"payload", {})])
    assert outcome == "accepted" and event is not None and event.type == "queued"
    return job


def test_a_settlement_happens_once_and_charges_once(tmp_path):
    engine = open_engine(PoolConfig(db_url=f"sqlite:///{tmp_path / 'pool.db'}", data_dir=tmp_path).url)
    try:
        with engine.begin() as connection:
            accounts.create(connection, "ada", "standard", credits=10.0)
            account = accounts.by_name(connection, "ada")["id"]
            job = _stored_job(connection, account)
            assert jobs.start(connection, job, 1, "local", "w", time.time()) is not None
            assert jobs.start(connection, job, 1, "local", "w", time.time()) is None  # no longer queued
            bill = {"total": 0.5}
            first = jobs.settle(connection, job, 1, "done", None, None, bill, b"r", 1.0, 3600.0, time.time())
            again = jobs.settle(connection, job, 1, "done", None, None, bill, b"r", 1.0, 3600.0, time.time())
            assert first is not None and first.type == "done" and again is None
            row = accounts.by_name(connection, "ada")
            assert (row["credits"], row["held"]) == (9.5, 0.0)
        assert jobs.result(engine, job.id) == b"r" and jobs.payload(engine, job.id) == b"payload"
    finally:
        engine.dispose()


def test_a_requeue_of_an_attempt_that_is_not_running_changes_nothing(tmp_path):
    engine = open_engine(PoolConfig(db_url=f"sqlite:///{tmp_path / 'pool.db'}", data_dir=tmp_path).url)
    try:
        with engine.begin() as connection:
            accounts.create(connection, "ada", "standard", credits=10.0)
            job = _stored_job(connection, accounts.by_name(connection, "ada")["id"])
            assert jobs.requeue(connection, job, 1, "worker lost") is None  # never started
            jobs.start(connection, job, 1, "local", "w", time.time())
            assert jobs.requeue(connection, job, 2, "worker lost") is None  # another attempt
            event = jobs.requeue(connection, job, 1, "worker lost")
            assert event is not None and event.data == {"state": "queued", "reason": "worker lost"}
            assert [r["id"] for r in jobs.recoverable(connection)] == [job.id]
    finally:
        engine.dispose()
