"""The transports: the same request gives the same answer over httpx and over loopback."""

import socket
import time

import pytest

from jupyter_fairshare import wire
from jupyter_fairshare.client import Client
from jupyter_fairshare.client.base import API
from jupyter_fairshare.client.loopback import LoopbackTransport
from jupyter_fairshare.client.transport import HTTPXTransport, Request, TransportError, TransportTimeout


@pytest.fixture
def transports(pool_server):
    both = (HTTPXTransport(pool_server.url + API), LoopbackTransport.for_url(pool_server.url + API))
    yield both
    for transport in both:
        transport.close()


@pytest.fixture
def token(pool_server):
    return pool_server.add_account(f"transport-{time.monotonic_ns()}")


def test_both_transports_give_the_same_status_and_body(transports, token):
    request = Request("GET", "/account", {}, {"Authorization": f"Bearer {token}"})
    over_httpx, over_loopback = (t.send(request) for t in transports)
    assert over_httpx.status == over_loopback.status == 200
    assert over_httpx.json() == over_loopback.json()
    assert over_httpx.headers["content-type"] == over_loopback.headers["content-type"]


def test_a_failure_status_is_an_answer_not_an_exception(transports):
    request = Request("GET", "/account", {}, {"Authorization": "Bearer fs_wrong"})
    assert [t.send(request).status for t in transports] == [401, 401]


def test_query_parameters_reach_the_pool_on_both(transports, token):
    request = Request("GET", "/jobs", {"limit": "0"}, {"Authorization": f"Bearer {token}"})
    assert [t.send(request).status for t in transports] == [422, 422]


def test_a_payload_over_the_upload_chunk_arrives_whole_over_httpx(pool_server, token):
    big = bytes(3 << 20)
    with Client(pool_server.url, token) as client:
        client._transport = HTTPXTransport(pool_server.url + API)  # the path a remote pool takes
        job = client.submit(wire.dumps(wire.CallTask(len, (big,))), {"kind": "call"}, wait=60)
        assert job["state"] == "done" and wire.loads(client.result(job["id"])).value == len(big)


def test_no_listener_is_a_transport_error_on_both():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        base = f"http://127.0.0.1:{sock.getsockname()[1]}{API}"
        for transport in (HTTPXTransport(base), LoopbackTransport.for_url(base)):
            with pytest.raises(TransportError):
                transport.send(Request("GET", "/health"))


def test_an_answer_slower_than_the_timeout_is_a_transport_timeout_on_both(pool_server, transports, token):
    with Client(pool_server.url, token) as client:
        job = client.submit(wire.dumps(wire.CallTask(time.sleep, (5,))), {"kind": "call"})
        slow = Request("GET", f"/jobs/{job['id']}", {"wait": "3"}, {"Authorization": f"Bearer {token}"},
                       b"", timeout=0.3)
        for transport in transports:
            with pytest.raises(TransportTimeout):
                transport.send(slow)
        client.cancel(job["id"])
