"""Admission, called directly: what a submission is refused for, and what an accepted one leaves behind."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from jupyter_fairshare.pool.admission import Admission
from jupyter_fairshare.pool.errors import Conflict, CreditsTooLow, Invalid, NoSiteFits, PayloadTooLarge
from jupyter_fairshare.pool.http.schemas import JobSpec
from jupyter_fairshare.pool.store.tables import admissions, blobs

from .conftest import NODE, account, balance, body


async def test_an_admitted_job_is_queued_and_its_max_cost_is_held(parts):
    ada = account(parts, credits=10.0)
    job = await parts.admission.submit(ada, JobSpec(max_cost=2.5), b"payload")
    assert job["state"] == "queued" and job["hold"] == 2.5 and job["position"] == 1
    assert job["id"] in parts.book.live and parts.scheduler.queued_count == 1
    stored = balance(parts, "ada")
    assert stored["held"] == 2.5 and stored["credits"] == 10.0


async def test_resubmitting_the_same_id_returns_the_same_job_and_holds_once(parts):
    ada = account(parts)
    spec = JobSpec(id="a" * 32, max_cost=1.0)
    first = await parts.admission.submit(ada, spec, b"x")
    again = await parts.admission.submit(ada, spec, b"x")
    assert first["id"] == again["id"] == "a" * 32
    assert balance(parts, "ada")["held"] == 1.0 and parts.scheduler.queued_count == 1


async def test_another_accounts_job_id_is_a_conflict(parts):
    await parts.admission.submit(account(parts, "ada"), JobSpec(id="b" * 32), b"x")
    parts.book.live.clear()  # as after the job ended: only the store knows whose id it is
    with pytest.raises(Conflict, match="job id is taken"):
        await parts.admission.submit(account(parts, "bob"), JobSpec(id="b" * 32), b"x")


async def test_a_max_cost_above_the_balance_is_refused_and_counted(parts):
    poor = account(parts, credits=0.5)
    with pytest.raises(CreditsTooLow) as refused:
        await parts.admission.submit(poor, JobSpec(max_cost=2.0), b"x")
    assert refused.value.details == {"estimate": 2.0, "balance": 0.5}
    assert not parts.book.live and balance(parts, "ada")["held"] == 0.0
    with parts.engine.connect() as connection:
        assert connection.execute(select(admissions.c.accepted, admissions.c.reason)).all() == [(False, "credits")]


async def test_a_declared_size_above_the_limit_is_refused_before_the_body_is_read(parts):
    ada = account(parts)
    with pytest.raises(PayloadTooLarge, match="accepts at most 100.0 KB") as refused:
        await parts.admission.receive(ada, JobSpec(), {"content-length": "200000"}, body(b"never read"))
    assert refused.value.details == {"limit": 100_000, "size": 200_000}


async def test_a_large_payload_is_streamed_into_the_spool_and_kept_under_the_jobs_name(parts):
    ada = account(parts)
    data = b"0123456789" * 300  # above the fixture's 1 KB spool threshold
    payload = await parts.admission.receive(ada, JobSpec(), {"content-length": str(len(data))},
                                            body(data[:1000], data[1000:]))
    assert payload.read_bytes() == data and payload.parent == parts.book.spool
    job = await parts.admission.submit(ada, JobSpec(), payload)
    kept = parts.book.spool / f"{job['id']}.payload"
    assert kept.read_bytes() == data and not payload.exists()
    with parts.engine.connect() as connection:
        assert connection.execute(select(blobs.c.path, blobs.c.data)).one() == (str(kept), None)


async def test_only_a_bare_spool_file_name_is_adopted(parts):
    ada = account(parts)
    for name in ("../pool.db", "f" * 32 + ".part"):
        with pytest.raises(Invalid, match="No spooled payload named"):
            await parts.admission.receive(ada, JobSpec(), {"fairshare-payload-file": name}, body())


async def test_an_unknown_site_is_refused_naming_the_sites(parts):
    with pytest.raises(Invalid, match="the sites are local"):
        await parts.admission.submit(account(parts), JobSpec(site="mars"), b"x")


async def test_a_job_no_worker_could_hold_is_refused_with_the_largest_worker(parts):
    admission = Admission(parts.book, parts.views, lambda: [NODE], lambda now: None, parts.account_changed)
    with pytest.raises(NoSiteFits, match="the largest worker has 4 CPUs"):
        await admission.submit(account(parts), JobSpec(cpus=64), b"x")
    assert not parts.book.live


async def test_bad_metadata_is_one_sentence_naming_the_field_and_is_counted(parts):
    ada = account(parts)
    with pytest.raises(Invalid, match="The job's cpus is invalid"):
        await parts.admission.spec(ada, json.dumps({"cpus": -1}))
    with pytest.raises(Invalid, match="header is missing"):
        await parts.admission.spec(ada, None)
    with parts.engine.connect() as connection:
        assert connection.execute(select(admissions.c.reason)).scalars().all() == ["metadata"]
