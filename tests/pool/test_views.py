"""The views, called directly: what an owner sees of a job, and what only its owner sees."""

from __future__ import annotations

import time

import pytest

from jupyter_fairshare.pool.errors import NoResult, NotFound
from jupyter_fairshare.pool.http.schemas import JobSpec
from jupyter_fairshare.pool.views import Views
from jupyter_fairshare.protocol import Report

from .conftest import NODE, account


async def test_another_accounts_job_is_not_found(parts):
    job = await parts.admission.submit(account(parts, "ada"), JobSpec(), b"x")
    bob = account(parts, "bob")
    with pytest.raises(NotFound, match="No job"):
        parts.views.view(job["id"], bob.id)
    with pytest.raises(NotFound):
        parts.views.result(job["id"], bob.id)


async def test_a_queued_job_shows_its_position_and_why_it_waits(parts):
    ada = account(parts)
    first = await parts.admission.submit(ada, JobSpec(cpus=4), b"x")
    second = await parts.admission.submit(ada, JobSpec(cpus=4), b"x")
    assert (first["position"], second["position"]) == (1, 2)
    why = parts.views.why(second["id"], ada.id)
    assert why["state"] == "queued" and why["position"] == 2 and why["queue_length"] == 2
    assert {"fairshare", "age", "priority"} <= set(why["components"])


async def test_a_job_without_a_result_says_why_not(parts):
    ada = account(parts)
    job = await parts.admission.submit(ada, JobSpec(), b"x")
    with pytest.raises(NoResult, match="is queued and has no result"):
        parts.views.result(job["id"], ada.id)
    live = parts.book.live[job["id"]]
    (start,) = parts.scheduler.decide(time.time())
    attempt = parts.book.start(live, start.site, start.node, time.time())
    parts.book.record_start(live)
    await parts.book.finish(live, attempt, Report(state="failed", reason="memory", error="Too much memory.",
                                                  result=None, cpu_seconds=1.0, wall_seconds=1.0, peak_memory=9))
    with pytest.raises(NoResult, match="ended with memory and left no result"):
        parts.views.result(job["id"], ada.id)


async def test_listings_are_newest_first_and_filter_by_state(parts):
    ada = account(parts)
    older = await parts.admission.submit(ada, JobSpec(name="older"), b"x")
    newer = await parts.admission.submit(ada, JobSpec(name="newer"), b"x")
    await parts.book.cancel_queued(parts.book.live[older["id"]], time.time())
    assert [j["name"] for j in parts.views.listing(ada.id, None, 10)] == ["newer", "older"]
    assert [j["id"] for j in parts.views.listing(ada.id, "cancelled", 10)] == [older["id"]]
    assert [j["id"] for j in parts.views.listing(ada.id, "queued", 10)] == [newer["id"]]


async def test_public_sites_count_the_known_workers_and_the_cpus_in_use(parts):
    views = Views(parts.engine, parts.book, lambda: [NODE])
    ada = account(parts)
    out = await parts.admission.submit(ada, JobSpec(cpus=3), b"x")
    (start,) = parts.scheduler.decide(time.time())
    parts.book.start(parts.book.live[out["id"]], start.site, start.node, time.time())
    (site,) = views.public_sites()["sites"]
    assert (site["name"], site["workers"], site["cpus"], site["free_cpus"]) == ("local", 1, 4.0, 1.0)
    assert site["price_version"] == 1 and site["carbon_intensity"] == 250.0


async def test_the_account_view_shows_the_hold_of_a_queued_job(parts):
    ada = account(parts, credits=5.0)
    await parts.admission.submit(ada, JobSpec(max_cost=2.0), b"x")
    shown = parts.views.account(ada.id)
    assert (shown["credits"], shown["held"], shown["balance"]) == (5.0, 2.0, 3.0)
