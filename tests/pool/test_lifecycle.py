"""The job book, driven through its methods as the run loop drives it: what each transition
stores, bills and publishes, and that a late word about an old attempt changes nothing."""

from __future__ import annotations

import asyncio
import time

import pytest

from jupyter_fairshare.pool.http.schemas import JobSpec
from jupyter_fairshare.pool.pool import Pool
from jupyter_fairshare.pool.store import events
from jupyter_fairshare.pool.store import jobs as job_store
from jupyter_fairshare.protocol import JobState, Report, StopReason

from .conftest import account, balance


def report(state: str = "done", wall: float = 10.0, reason: str | None = None, error: str | None = None,
           result: bytes | None = b"42") -> Report:
    return Report(state=state, reason=reason, error=error, result=result, cpu_seconds=wall, wall_seconds=wall,
                  peak_memory=1000)


async def started(parts, name: str = "ada", credits: float = 10.0, **spec):
    """A job admitted and placed by the policy, its attempt started and recorded."""
    who = account(parts, name, credits=credits)
    out = await parts.admission.submit(who, JobSpec(**spec), b"payload")
    (start,) = parts.scheduler.decide(time.time())
    job = parts.book.live[out["id"]]
    attempt = parts.book.start(job, start.site, start.node, time.time())
    parts.book.record_start(job)
    return job, attempt


def stored_types(parts, job_id: str) -> list[str]:
    return [e.type for e in events.stored(parts.engine, job_id, 0)]


async def test_a_finished_attempt_is_billed_at_its_sites_price_and_releases_its_hold(parts):
    job, attempt = await started(parts, max_cost=5.0)
    assert job.state is JobState.RUNNING and attempt == 1 and job.rate > 0
    await parts.book.finish(job, attempt, report(wall=10.0))
    row = job_store.row(parts.engine, job.id, job.account)
    assert row["state"] == "done" and row["cost"] == pytest.approx(job.rate * 10.0)
    stored = balance(parts, "ada")
    assert stored["held"] == 0.0 and stored["credits"] == pytest.approx(10.0 - job.rate * 10.0)
    assert stored["usage"] > 0
    assert job.id not in parts.book.live and job.ended.is_set() and parts.scheduler.running_count == 0
    assert job_store.result(parts.engine, job.id) == b"42"
    assert stored_types(parts, job.id) == ["queued", "started", "done"]


async def test_output_is_stored_in_order_before_the_end_and_small_output_comes_inline(parts):
    job, attempt = await started(parts)
    waiting = asyncio.create_task(parts.views.wait(job.id, job.account, 5.0))  # a ?wait request under way
    await asyncio.sleep(0)
    parts.book.output(job, attempt, {"stream": "stdout", "text": "one\n"})
    parts.book.output(job, attempt, {"stream": "stderr", "text": "two\n"})
    await parts.book.finish(job, attempt, report(result=b"r"))
    assert stored_types(parts, job.id) == ["queued", "started", "output", "output", "done"]
    assert job.inline == {"output": [{"stream": "stdout", "text": "one\n"}, {"stream": "stderr", "text": "two\n"}],
                          "result": "cg=="}
    waited = await waiting
    assert waited["state"] == "done" and waited["inline"]["result"] == "cg=="


async def test_a_report_for_a_requeued_attempt_changes_nothing(parts):
    job, attempt = await started(parts)
    await parts.book.requeue(job, attempt, "worker lost", time.time())
    assert job.state is JobState.QUEUED and job.node is None and parts.scheduler.queued_count == 1
    parts.book.output(job, attempt, {"stream": "stdout", "text": "late\n"})  # dropped: not the running attempt
    await parts.book.finish(job, attempt, report())
    row = job_store.row(parts.engine, job.id, job.account)
    assert row["state"] == "queued" and row["cost"] == 0.0 and balance(parts, "ada")["credits"] == 10.0
    assert stored_types(parts, job.id) == ["queued", "started", "requeued"]


async def test_a_job_lost_too_often_fails_unbilled(parts):
    parts.config.max_attempts = 1
    job, attempt = await started(parts)
    await parts.book.requeue(job, attempt, "worker lost", time.time())
    row = job_store.row(parts.engine, job.id, job.account)
    assert (row["state"], row["reason"], row["cost"]) == ("failed", StopReason.WORKER_LOST, 0.0)
    assert "lost 1 times" in row["error"] and balance(parts, "ada")["held"] == 0.0


async def test_a_stop_at_the_max_cost_is_billed_exactly_the_cap(parts):
    job, attempt = await started(parts, max_cost=0.01)
    await parts.book.finish(job, attempt, report("failed", wall=1e6, reason=StopReason.MAX_COST,
                                                 error="Max cost reached.", result=None))
    row = job_store.row(parts.engine, job.id, job.account)
    assert (row["state"], row["reason"], row["cost"]) == ("failed", "max cost", 0.01)
    assert row["bill"]["capped"] is True


async def test_a_worker_error_fails_the_job_unbilled(parts):
    job, attempt = await started(parts)
    await parts.book.fail(job, attempt, StopReason.WORKER_ERROR, "The worker could not run the job.")
    row = job_store.row(parts.engine, job.id, job.account)
    assert (row["state"], row["reason"], row["bill"]) == ("failed", "worker error", None)
    assert balance(parts, "ada")["credits"] == 10.0


async def test_cancelling_a_queued_job_charges_nothing_and_only_once(parts):
    who = account(parts)
    out = await parts.admission.submit(who, JobSpec(max_cost=3.0), b"x")
    job = parts.book.live[out["id"]]
    assert await parts.book.cancel_queued(job, time.time()) is True
    assert await parts.book.cancel_queued(job, time.time()) is False
    assert job.state is JobState.CANCELLED and parts.scheduler.queued_count == 0
    assert balance(parts, "ada")["held"] == 0.0
    assert stored_types(parts, job.id) == ["queued", "cancelled"]


async def test_a_cancelled_report_is_recorded_with_the_cancelled_reason(parts):
    job, attempt = await started(parts)
    await parts.book.finish(job, attempt, report("cancelled", result=None))
    row = job_store.row(parts.engine, job.id, job.account)
    assert (row["state"], row["reason"]) == ("cancelled", "cancelled") and row["cost"] > 0


async def test_a_deadline_job_waits_for_a_greener_window_until_it_comes(parts, tmp_path):
    from jupyter_fairshare.pool.sites import SeriesCarbon, Site

    now = time.time()
    parts.billing.sites["local"] = Site("local", SeriesCarbon((now - 60, now + 100), (400.0, 50.0)), 10.0, 0.4, 250.0)
    out = await parts.admission.submit(account(parts), JobSpec(deadline=3600), b"x")
    assert out["greener_window"]["intensity_then"] == 50.0 and out["expected_start"] == now + 100
    assert parts.scheduler.queued_count == 0
    parts.book.release_deferred(now + 101)
    assert parts.scheduler.queued_count == 1 and not parts.book.deferred


async def test_recovery_puts_a_dead_pools_running_job_back_in_the_queue(parts):
    job, _attempt = await started(parts)
    await parts.writer(lambda c: None)  # the start is committed
    restarted = Pool(parts.config)  # a new pool process on the same store
    try:
        restarted.recover()
        back = restarted.book.live[job.id]
        assert back.state is JobState.QUEUED and back.attempt == 1 and restarted.scheduler.queued_count == 1
        assert job_store.row(parts.engine, job.id, job.account)["state"] == "queued"
        assert stored_types(parts, job.id) == ["queued", "started", "requeued"]
    finally:
        restarted.writer.close()
        restarted.engine.dispose()


async def test_a_cancelled_job_whose_worker_is_lost_ends_cancelled_not_back_in_the_queue(parts):
    job, attempt = await started(parts)
    parts.book.request_cancel(job)
    await parts.book.requeue(job, attempt, "worker lost", time.time())
    row = job_store.row(parts.engine, job.id, job.account)
    assert (row["state"], row["reason"], row["cost"]) == ("cancelled", "cancelled", 0.0)
    assert parts.scheduler.queued_count == 0 and balance(parts, "ada")["held"] == 0.0
