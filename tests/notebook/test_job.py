"""The Job future: its result, its errors, its events and awaiting it, against a real pool process."""

import os
import signal
import time

import pytest

from jupyter_fairshare import wire
from jupyter_fairshare.client import errors
from jupyter_fairshare.protocol import EventType

from ..conftest import submit


def add(a, b=0):
    return a + b



def _fill(pool_server, seconds: float) -> None:
    """Keep both of the session pool's workers busy for ``seconds``."""
    with pool_server.client(pool_server.add_account(f"filler-{time.monotonic_ns()}")) as http:
        for _ in range(2):
            submit(http, time.sleep, seconds)


def test_a_queued_job_reports_its_position_then_follows_events_to_the_end(pool, pool_server):
    _fill(pool_server, 1.5)
    job = pool.submit(add, 1)
    assert job.info["state"] == "queued" and job.info["position"] >= 1
    assert f"{job.info['position']} of " in repr(job)
    assert job.result(timeout=60) == 1
    assert job.info["state"] == "done" and job.info["position"] is None


def test_a_remote_exception_is_raised_as_itself_with_the_remote_traceback_as_cause(pool):
    job = pool.submit(add, 1, "x")
    with pytest.raises(TypeError) as info:
        job.result(timeout=60)
    assert isinstance(info.value.__cause__, errors.RemoteTraceback)
    assert "Remote traceback" in str(info.value.__cause__) and "add" in str(info.value.__cause__)


def test_a_cancelled_job_says_so(pool):
    job = pool.submit(time.sleep, 30)
    assert job.cancel() is True and job.done()
    with pytest.raises(errors.JobCancelled, match=f"{job.id} was cancelled"):
        job.result()


def test_a_max_cost_stop_raises_max_cost_reached_with_the_pools_sentence(pool):
    job = pool.submit(time.sleep, 30, max_cost=2e-6)
    with pytest.raises(errors.MaxCostReached, match="raise --max-cost"):
        job.result(timeout=60)


def test_a_failed_job_without_a_result_raises_job_failed_with_its_error(pool):
    def hog():
        return bytearray(400 * 10**6)  # over the 100 MB it asked for

    job = pool.submit(hog, memory="100MB")
    with pytest.raises(errors.JobFailed, match="memory limit of 100 MB"):
        job.result(timeout=60)


def test_a_version_mismatch_on_the_worker_raises_version_mismatch(pool, monkeypatch):
    monkeypatch.setattr(wire, "runtime_versions", lambda: {"python": "3.99", "cloudpickle": "3.1.0"})
    job = pool.submit(add, 1)
    with pytest.raises(errors.VersionMismatch, match="3.99"):
        job.result(timeout=60)


def test_a_lost_worker_is_a_warning_and_the_job_goes_on(pool):
    def report_then_sleep():
        import time as _time

        import psutil

        print("worker-pid", psutil.Process().parents()[1].pid, flush=True)
        _time.sleep(1.0)
        return "finished"

    job = pool.submit(report_then_sleep)
    for event in job.events(timeout=60):
        if event.type == EventType.OUTPUT and "worker-pid" in event.data.get("text", ""):
            os.kill(int(event.data["text"].split()[1]), signal.SIGKILL)
            break
    with pytest.warns(errors.WorkerLost, match="back in the queue"):
        assert job.result(timeout=60) == "finished"


async def test_a_job_can_be_awaited(pool):
    assert await pool.submit(add, 20, 22) == 42


async def test_awaiting_a_cancelled_job_raises_job_cancelled(pool):
    job = pool.submit(time.sleep, 30)
    job.cancel()
    with pytest.raises(errors.JobCancelled, match=f"{job.id} was cancelled"):
        await job


async def test_awaiting_a_job_raises_its_remote_exception(pool):
    with pytest.raises(TypeError):
        await pool.submit(add, 1, "x")
