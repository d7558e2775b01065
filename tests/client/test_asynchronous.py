"""``AsyncClient`` against a real pool process: the same calls as ``Client``, awaited."""

import time

import pytest

from jupyter_fairshare import wire
from jupyter_fairshare.client import AsyncClient, Client, errors


@pytest.fixture
async def aclient(pool_server):
    async with AsyncClient(pool_server.url, pool_server.add_account(f"async-{time.monotonic_ns()}")) as client:
        yield client


async def test_submit_job_result_and_jobs_reach_the_same_endpoints(aclient):
    job = await aclient.submit(wire.dumps(wire.CallTask(sum, ([1, 2],))), {"kind": "call"}, wait=30)
    assert job["state"] == "done"
    assert (await aclient.job(job["id"]))["state"] == "done"
    assert wire.loads(await aclient.result(job["id"])).value == 3
    assert [j["id"] for j in await aclient.jobs(limit=1)] == [job["id"]]


async def test_an_unknown_job_is_not_found(aclient):
    with pytest.raises(errors.JobNotFound):
        await aclient.job("0" * 32)


async def test_the_events_end_after_the_final_one_and_match_the_sync_clients(pool_server, aclient):
    job = await aclient.submit(wire.dumps(wire.CallTask(print, ("hi",))), {"kind": "call"}, wait=30)
    events = [event async for event in aclient.events(job["id"])]
    assert events[0].type == "queued" and events[-1].type == "done"
    with Client(pool_server.url, aclient.token) as client:
        assert list(client.events(job["id"])) == events


async def test_the_accounts_stream_carries_a_new_jobs_events(aclient):
    async with aclient.open_events() as events:
        job = await aclient.submit(wire.dumps(wire.CallTask(int)), {"kind": "call"})
        async for event in events:
            if event.data.get("job") == job["id"] and event.type == "done":
                break


async def test_opening_a_stream_with_a_bad_token_fails_before_any_event(pool_server):
    async with AsyncClient(pool_server.url, "fs_wrong") as bad:
        with pytest.raises(errors.BadToken):
            async with bad.open_events():
                pass


async def test_cancel_why_and_account_answer_as_the_sync_client_does(aclient):
    job = await aclient.submit(wire.dumps(wire.CallTask(time.sleep, (30,))), {"kind": "call"})
    why = await aclient.why(job["id"])
    assert {"position", "components", "ahead", "state"} <= set(why)
    assert (await aclient.cancel(job["id"]))["state"] == "cancelled"
    assert (await aclient.account())["tier"] == "standard"


async def test_no_pool_at_the_url_is_reported_unreachable():
    async with AsyncClient("http://127.0.0.1:9", "t") as client:
        with pytest.raises(errors.PoolUnreachable, match="127.0.0.1:9"):
            await client.account()
