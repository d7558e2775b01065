"""The server extension's ``/fairshare/api/...``: a real Jupyter server in front of a real pool."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tornado import web
from tornado.httpclient import HTTPClientError
from tornado.routing import Rule

from jupyter_fairshare import embedded
from tests.conftest import submit, wait_for

# How long a test may wait for the pool before it fails rather than hangs; not an assertion.
PATIENCE = 90.0


@pytest.fixture
def account_token(pool_server, request) -> str:
    """A fresh standard account on the session pool, named after the test."""
    return pool_server.add_account(f"{request.node.name[:50]}-{time.monotonic_ns()}")


@pytest.fixture
def pool_http(pool_server, account_token) -> Iterator[httpx.Client]:
    """The same account, straight to the pool, for submitting jobs and checking what it says."""
    with pool_server.client(account_token) as client:
        yield client


@pytest.fixture
def fairshare_config(pool_server, account_token) -> dict[str, Any]:
    """``c.FairShare``: the session pool with this test's account; classes below override it."""
    return {"pool_url": pool_server.url, "token": account_token, "embedded": False}


@pytest.fixture
def jp_server_config(fairshare_config) -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"jupyter_fairshare": True}}, "FairShare": fairshare_config}


@pytest.fixture(autouse=True)
def _pool_environment(monkeypatch, tmp_path) -> None:
    """Start every test with no pool in the environment, and restore whatever was there."""
    for name in ("FAIRSHARE_URL", "FAIRSHARE_TOKEN", "FAIRSHARE_DATA_DIR"):
        monkeypatch.setenv(name, "")  # records the original value for restoring
        monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))  # no user config.json


async def get_json(jp_fetch, *parts: str, **kwargs: Any) -> Any:
    response = await jp_fetch("fairshare", "api", *parts, **kwargs)
    assert response.headers["Content-Type"].startswith("application/json")
    return json.loads(response.body)


async def error_of(jp_fetch, *parts: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("fairshare", "api", *parts, **kwargs)
    return info.value.code, json.loads(info.value.response.body)


# -- each handler against a working pool ----------------------------------------------


async def test_status_is_ready_and_names_the_pool_but_not_the_token(jp_fetch, pool_server, account_token):
    response = await jp_fetch("fairshare", "api", "status")
    status = json.loads(response.body)
    assert status == {"state": "ready", "message": None, "pool_url": pool_server.url, "embedded": False}
    assert account_token.encode() not in response.body


async def test_kernels_started_by_the_server_inherit_the_configured_pool(jp_serverapp, pool_server, account_token):
    assert (os.environ["FAIRSHARE_URL"], os.environ["FAIRSHARE_TOKEN"]) == (pool_server.url, account_token)


async def test_pool_lists_each_site_with_its_prices(jp_fetch, pool_http):
    pool = await get_json(jp_fetch, "pool")
    direct_sites = pool_http.get("/api/v1/public/sites").json()["sites"]
    direct_prices = pool_http.get("/api/v1/public/prices").json()["sites"]
    assert [s["name"] for s in pool["sites"]] == [s["name"] for s in direct_sites] != []
    assert pool["prices"] == direct_prices


async def test_account_is_the_pools_account_for_the_configured_token(jp_fetch, pool_http, account_token):
    response = await jp_fetch("fairshare", "api", "account")
    assert json.loads(response.body) == pool_http.get("/api/v1/account").json()
    assert account_token.encode() not in response.body


async def test_a_submitted_job_shows_in_jobs_newest_first(jp_fetch, pool_http):
    first = submit(pool_http, sum, [1, 2], name="first").json()
    second = submit(pool_http, sum, [3, 4], name="second").json()
    jobs = (await get_json(jp_fetch, "jobs"))["jobs"]
    assert [job["id"] for job in jobs] == [second["id"], first["id"]]
    assert jobs[0]["name"] == "second"


async def test_why_answers_as_the_pool_does(jp_fetch, pool_http):
    job = submit(pool_http, sum, [1], wait=30).json()
    why = await get_json(jp_fetch, "jobs", job["id"], "why")
    assert why == pool_http.get(f"/api/v1/jobs/{job['id']}/why").json()
    assert {"position", "queue_length", "components", "ahead"} <= set(why)


async def test_why_of_an_unknown_job_is_404_with_the_pools_sentence(jp_fetch, pool_http):
    missing = "0" * 32
    code, body = await error_of(jp_fetch, "jobs", missing, "why")
    assert code == 404
    assert body["message"] == pool_http.get(f"/api/v1/jobs/{missing}/why").json()["detail"]


async def test_cancel_stops_a_running_job(jp_fetch, pool_http):
    job = submit(pool_http, time.sleep, 120).json()
    wait_for(pool_http, job["id"], states=("running",), timeout=PATIENCE)
    cancelled = await get_json(jp_fetch, "jobs", job["id"], "cancel", method="POST", body=b"")
    assert cancelled["id"] == job["id"] and cancelled["state"] == "cancelled"
    assert wait_for(pool_http, job["id"], timeout=PATIENCE)["state"] == "cancelled"


async def test_events_relay_a_job_submitted_after_connecting(http_server, jp_http_port, jp_base_url, jp_auth_header,
                                                             pool_http):
    url = f"http://127.0.0.1:{jp_http_port}{jp_base_url}fairshare/api/events"
    seen: list[tuple[str, dict[str, Any]]] = []
    browser = httpx.AsyncClient(headers=jp_auth_header, timeout=httpx.Timeout(PATIENCE))
    async with browser, browser.stream("GET", url) as stream:
        assert stream.status_code == 200
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        lines = stream.aiter_lines()
        assert await anext(lines) == ": connected"
        job = submit(pool_http, time.sleep, 0.2, name="relayed").json()
        kind = None
        async for line in lines:
            if line.startswith("event: "):
                kind = line[len("event: "):]
            elif line.startswith("data: "):
                data = json.loads(line[len("data: "):])
                seen.append((kind, data))
                if kind == "done" and data["job"] == job["id"]:
                    break
    mine = [(kind, data) for kind, data in seen if data["job"] == job["id"]]
    assert [kind for kind, _ in mine][-1] == "done"
    assert "started" in [kind for kind, _ in mine]
    assert mine[-1][1]["bill"]["total"] >= 0


# -- authentication -------------------------------------------------------------------


def _extension_rules(router: Any) -> Iterator[Rule]:
    for rule in getattr(router, "rules", []):
        if isinstance(rule.target, type):
            if rule.target.__module__.startswith("jupyter_fairshare") or "fairshare" in rule.matcher.regex.pattern:
                yield rule
        else:
            yield from _extension_rules(rule.target)


def _methods(handler: type[web.RequestHandler]) -> list[str]:
    # OPTIONS is Jupyter's CORS preflight and answers no data.
    verbs = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
    return [v for v in verbs if getattr(handler, v.lower()) is not getattr(web.RequestHandler, v.lower())]


async def test_every_handler_refuses_a_request_without_jupyter_auth(jp_serverapp, http_server_client, jp_fetch):
    rules = list(_extension_rules(jp_serverapp.web_app.default_router))
    routes = {
        (method,
         re.sub(r"\(\?P<\w+>[^)]*\)", "0123456789abcdef0123456789abcdef", rule.matcher.regex.pattern).rstrip("$"))
        for rule in rules
        for method in _methods(rule.target)
    }
    assert len(routes) >= 7, routes
    for method, path in sorted(routes):
        response = await http_server_client.fetch(
            path, method=method, body=b"" if method in ("POST", "PUT", "PATCH") else None,
            raise_error=False, follow_redirects=False,
        )
        assert response.code in (401, 403, 302), (method, path, response.code)
    # The same requests with Jupyter's token get through to the pool (so the 403s are auth's).
    for method, path in sorted(routes):
        if path.endswith("/events"):
            continue
        relative = path.split("/fairshare/", 1)[1]
        try:
            response = await jp_fetch("fairshare", relative, method=method,
                                      body=b"" if method == "POST" else None)
            code = response.code
        except HTTPClientError as exc:
            code = exc.code
        assert code in (200, 404), (method, path, code)


# -- a pool that fails ------------------------------------------------------------------


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A loopback port that is bound (so no one else takes it) but refuses connections."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


class TestUnreachablePool:
    @pytest.fixture
    def fairshare_config(self, dead_port) -> dict[str, Any]:
        return {"pool_url": f"http://127.0.0.1:{dead_port}", "token": "anything", "embedded": False}

    async def test_every_pool_call_is_503_with_the_sentence(self, jp_fetch, dead_port):
        sentence = (f"The fair-share pool at http://127.0.0.1:{dead_port} does not answer; start it with "
                    "`fairshare pool serve` or check c.FairShare.pool_url.")
        status = await get_json(jp_fetch, "status")
        assert status == {"state": "unreachable", "message": sentence, "pool_url": f"http://127.0.0.1:{dead_port}",
                          "embedded": False}
        for parts, method in [(("pool",), "GET"), (("account",), "GET"), (("jobs",), "GET"),
                              (("jobs", "abc", "why"), "GET"), (("jobs", "abc", "cancel"), "POST"),
                              (("events",), "GET")]:
            code, body = await error_of(jp_fetch, *parts, method=method, body=b"" if method == "POST" else None)
            assert (code, body["message"]) == (503, sentence), parts


class TestBadToken:
    @pytest.fixture
    def fairshare_config(self, pool_server) -> dict[str, Any]:
        return {"pool_url": pool_server.url, "token": "not-a-token", "embedded": False}

    async def test_status_and_calls_say_to_fix_fairshare_token(self, jp_fetch, pool_server):
        status = await get_json(jp_fetch, "status")
        assert status["state"] == "bad-token"
        assert "FAIRSHARE_TOKEN" in status["message"] and pool_server.url in status["message"]
        code, body = await error_of(jp_fetch, "account")
        assert code == 502 and body["message"] == status["message"]
        code, body = await error_of(jp_fetch, "events")
        assert code == 502 and body["message"] == status["message"]
        assert "not-a-token" not in json.dumps([status, body])


class TestNoPoolConfigured:
    @pytest.fixture
    def fairshare_config(self) -> dict[str, Any]:
        return {"embedded": False}

    async def test_status_says_how_to_configure_one(self, jp_fetch):
        status = await get_json(jp_fetch, "status")
        assert status["state"] == "unreachable" and status["pool_url"] is None
        assert "c.FairShare.pool_url" in status["message"] and "FAIRSHARE_URL" in status["message"]
        code, body = await error_of(jp_fetch, "jobs")
        assert code == 503 and body["message"] == status["message"]


# -- the embedded pool ------------------------------------------------------------------


@pytest.fixture
def embedded_dir(tmp_path, monkeypatch) -> Iterator[Path]:
    """Where the embedded pool lives; it is stopped however the test ends."""
    data_dir = tmp_path / "fairshare-data"
    monkeypatch.setenv("FAIRSHARE_DATA_DIR", str(data_dir))
    yield data_dir
    embedded.stop(data_dir)


async def _until_settled(jp_fetch) -> dict[str, Any]:
    deadline = time.monotonic() + PATIENCE
    while True:
        status = await get_json(jp_fetch, "status")
        if status["state"] != "starting" or time.monotonic() > deadline:
            return status
        await asyncio.sleep(0.2)


async def _until_gone(data_dir: Path) -> bool:
    deadline = time.monotonic() + PATIENCE
    while embedded.running(data_dir) is not None:
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.2)
    return True


class TestEmbeddedPool:
    @pytest.fixture
    def fairshare_config(self, embedded_dir) -> dict[str, Any]:
        return {"embedded": True, "embedded_workers": 1}

    async def test_starts_in_the_background_is_exported_to_kernels_and_stops_with_the_server(
        self, jp_serverapp, jp_fetch, embedded_dir
    ):
        first = await get_json(jp_fetch, "status")
        assert first["state"] in ("starting", "ready") and first["embedded"] is True
        status = await _until_settled(jp_fetch)
        assert status["state"] == "ready", status
        assert os.environ["FAIRSHARE_URL"] == status["pool_url"] == embedded.running(embedded_dir)[0]
        assert os.environ["FAIRSHARE_TOKEN"] == embedded.running(embedded_dir)[1]
        assert (await get_json(jp_fetch, "account"))["name"] == "demo"

        await jp_serverapp.web_app.settings["fairshare_manager"].stop()
        assert await _until_gone(embedded_dir)
        assert "FAIRSHARE_URL" not in os.environ


class TestEmbeddedPoolAlreadyRunning:
    @pytest.fixture
    def fairshare_config(self, embedded_dir) -> dict[str, Any]:
        embedded.ensure_running(embedded_dir, workers=1)
        return {"embedded": True}

    async def test_is_reused_and_left_running(self, jp_serverapp, jp_fetch, embedded_dir):
        url, _ = embedded.running(embedded_dir)
        status = await _until_settled(jp_fetch)
        assert (status["state"], status["pool_url"]) == ("ready", url)
        await jp_serverapp.web_app.settings["fairshare_manager"].stop()
        still = embedded.running(embedded_dir)
        assert still is not None and still[0] == url
