"""Kill the pool or a worker at a bad moment: no accepted job is lost, run twice or billed twice.

These run a real pool process; the pool is killed with SIGKILL (with its worker processes,
as a crash or an OOM kill would) and started again on the same store.
"""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from jupyter_fairshare import wire
from tests.conftest import start_pool, submit, wait_for

CREDITS = 100.0


def numbered(i):
    import time as _time

    _time.sleep(0.15)
    return i


def report_then_sleep(seconds):
    import time as _time

    import psutil

    print("worker-pid", psutil.Process().parents()[1].pid, flush=True)
    _time.sleep(seconds)
    return "finished"


def test_sigkill_at_any_moment_loses_no_job_and_charges_no_credit_twice(tmp_path, store_url):
    pool = start_pool(tmp_path / "run", db=store_url)
    token = pool.add_account("survivor", credits=CREDITS)
    accepted = []
    try:
        for round_ in range(2):
            with pool.client(token) as client:
                for _ in range(12):
                    response = submit(client, numbered, len(accepted), max_cost=0.5)
                    assert response.status_code == 201
                    accepted.append(response.json()["id"])
                time.sleep(0.4 + 0.3 * round_)  # some done, some running, some queued
            pool.kill(signal.SIGKILL)
            pool = start_pool(tmp_path / f"restart{round_}", db=store_url)
        with pool.client(token) as client:
            jobs = [wait_for(client, job_id, timeout=120) for job_id in accepted]
            assert [job["state"] for job in jobs] == ["done"] * len(accepted)
            for index, job in enumerate(jobs):
                outcome = wire.loads(client.get(f"/api/v1/jobs/{job['id']}/result").content)
                assert outcome.value == index
                with client.stream("GET", f"/api/v1/jobs/{job['id']}/events") as stream:
                    kinds = [line[7:] for line in stream.iter_lines() if line.startswith("event: ")]
                assert kinds.count("done") == 1 and kinds.count("queued") == 1
            account = client.get("/api/v1/account").json()
            assert account["held"] == pytest.approx(0.0, abs=1e-9)
            assert account["credits"] == pytest.approx(CREDITS - sum(job["cost"] for job in jobs), abs=1e-9)
            assert any(job["attempt"] > 1 for job in jobs), "no job was caught running by the kills"
    finally:
        pool.kill(signal.SIGTERM)


def test_a_job_whose_worker_dies_is_requeued_and_the_lost_run_not_billed(tmp_path):
    pool = start_pool(tmp_path, workers=2)
    try:
        with pool.client(pool.add_account("unlucky", credits=CREDITS)) as client:
            job = submit(client, report_then_sleep, 2.0).json()
            with client.stream("GET", f"/api/v1/jobs/{job['id']}/events") as stream:
                for line in stream.iter_lines():
                    if line.startswith("data: ") and "worker-pid" in line:
                        pid = int(json.loads(line[6:])["text"].split()[1])
                        break
            os.kill(pid, signal.SIGKILL)
            final = wait_for(client, job["id"], timeout=60)
            assert final["state"] == "done" and final["attempt"] == 2
            with client.stream("GET", f"/api/v1/jobs/{job['id']}/events") as stream:
                kinds = [line[7:] for line in stream.iter_lines() if line.startswith("event: ")]
            assert kinds.count("requeued") == 1 and kinds.count("started") == 2 and kinds[-1] == "done"
            assert 2.0 <= final["bill"]["wall_seconds"] < 4.0  # the second run only
            account = client.get("/api/v1/account").json()
            assert account["credits"] == pytest.approx(CREDITS - final["cost"], abs=1e-12)
    finally:
        pool.kill(signal.SIGTERM)


def test_a_recovered_job_whose_payload_the_store_lost_fails_with_the_reason_instead_of_hanging(tmp_path):
    import sqlite3

    db = tmp_path / "pool.db"
    pool = start_pool(tmp_path / "first", db=f"sqlite:///{db}", workers=1)
    token = pool.add_account("restored", credits=CREDITS)
    with pool.client(token) as client:
        blocker = submit(client, time.sleep, 30).json()
        job = submit(client, numbered, 7).json()
    pool.kill(signal.SIGKILL)
    with sqlite3.connect(db) as store:  # a store restored from an inconsistent copy, say
        store.execute("DELETE FROM blobs WHERE job_id = ? AND kind = 'payload'", (job["id"],))
    pool = start_pool(tmp_path / "second", db=f"sqlite:///{db}", workers=1)
    try:
        with pool.client(token) as client:
            client.post(f"/api/v1/jobs/{blocker['id']}/cancel")
            final = wait_for(client, job["id"], timeout=60)
            assert final["state"] == "failed"
            assert final["error"].startswith("The pool could not start the job (") and "operator" in final["error"]
            assert final["bill"] is None and final["cost"] == 0.0
            assert wait_for(client, blocker["id"])["state"] == "cancelled"
    finally:
        pool.kill(signal.SIGTERM)
