"""The server extension's manager, called directly against a real pool process (no Jupyter server)."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import AsyncIterator

import pytest

from jupyter_fairshare import wire
from jupyter_fairshare.client import Client
from jupyter_fairshare.server.manager import FairShareManager, Unavailable

PATIENCE = 60.0


@pytest.fixture(autouse=True)
def _no_pool_in_the_environment(monkeypatch, tmp_path) -> None:
    for name in ("FAIRSHARE_URL", "FAIRSHARE_TOKEN", "FAIRSHARE_DATA_DIR"):
        monkeypatch.setenv(name, "")  # records the original value for restoring
        monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))


@pytest.fixture
def token(pool_server, request) -> str:
    return pool_server.add_account(f"{request.node.name[:50]}-{time.monotonic_ns()}")


@pytest.fixture
async def manager(pool_server, token) -> AsyncIterator[FairShareManager]:
    manager = FairShareManager(pool_server.url, token, embedded=False)
    manager.start()
    yield manager
    await manager.stop()


@pytest.fixture
def pool_client(pool_server, token):
    with Client(pool_server.url, token) as client:
        yield client


async def test_a_configured_pool_is_ready_and_exported_to_kernels_until_stop(pool_server, token):
    manager = FairShareManager(pool_server.url, token, embedded=False)
    manager.start()
    assert await manager.status() == {"pool_url": pool_server.url, "embedded": False, "state": "ready",
                                      "message": None}
    assert (os.environ["FAIRSHARE_URL"], os.environ["FAIRSHARE_TOKEN"]) == (pool_server.url, token)
    await manager.stop()
    assert "FAIRSHARE_URL" not in os.environ and "FAIRSHARE_TOKEN" not in os.environ


async def test_pool_account_and_jobs_answer_as_the_pool_does(manager, pool_client):
    job = pool_client.submit(wire.dumps(wire.CallTask(int)), {"kind": "call", "name": "manager"}, wait=30)
    pool = await manager.pool()
    assert pool["sites"] and {p["site"] for p in pool["prices"]} == {s["name"] for s in pool["sites"]}
    assert (await manager.account())["name"] == pool_client.account()["name"]
    assert (await manager.jobs())["jobs"][0]["id"] == job["id"]


async def test_why_of_an_unknown_job_is_404_with_the_pools_sentence(manager):
    with pytest.raises(Unavailable) as info:
        await manager.why("0" * 32)
    assert info.value.status == 404 and info.value.state == "ready" and info.value.message


async def test_cancel_stops_a_running_job(manager, pool_client):
    job = pool_client.submit(wire.dumps(wire.CallTask(time.sleep, (30,))), {"kind": "call"})
    assert (await manager.cancel(job["id"]))["state"] == "cancelled"


async def test_the_event_stream_relays_a_job_submitted_after_it_opened(manager, pool_client):
    async with manager.events() as events:
        job = pool_client.submit(wire.dumps(wire.CallTask(int)), {"kind": "call"})

        async def until_done() -> list[str]:
            seen = []
            async for event in events:
                if event.data.get("job") == job["id"]:
                    seen.append(event.type)
                    if event.type == "done":
                        return seen
            return seen

        seen = await asyncio.wait_for(until_done(), PATIENCE)
    assert seen[0] == "queued" and seen[-1] == "done"


async def test_a_refused_token_is_502_saying_to_fix_fairshare_token(pool_server):
    manager = FairShareManager(pool_server.url, "not-a-token", embedded=False)
    manager.start()
    try:
        status = await manager.status()
        assert status["state"] == "bad-token" and "FAIRSHARE_TOKEN" in status["message"]
        with pytest.raises(Unavailable) as info:
            async with manager.events():
                pass
        assert (info.value.status, info.value.message) == (502, status["message"])
    finally:
        await manager.stop()


async def test_a_pool_that_does_not_answer_is_503_naming_its_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        manager = FairShareManager(url, "t", embedded=False)
        manager.start()
        try:
            with pytest.raises(Unavailable) as info:
                await manager.account()
            assert info.value.status == 503 and url in info.value.message
        finally:
            await manager.stop()


async def test_with_no_pool_and_no_embedded_one_every_call_says_how_to_configure():
    manager = FairShareManager(embedded=False)
    manager.start()
    with pytest.raises(Unavailable) as info:
        await manager.jobs()
    assert info.value.status == 503 and "c.FairShare.pool_url" in info.value.message
    await manager.stop()
