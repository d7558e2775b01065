"""The lean loopback transport against a real pool: the same answers and errors as httpx."""

import socket
import time

import pytest

from jupyter_fairshare import wire
from jupyter_fairshare.client import Client, errors
from jupyter_fairshare.client.loopback import LoopbackTransport
from jupyter_fairshare.client.transport import HTTPXTransport


@pytest.fixture
def client(pool_server):
    client = Client(pool_server.url, pool_server.add_account(f"loopback-{time.monotonic_ns()}", credits=5.0))
    yield client
    client.close()


def test_only_plain_http_to_this_machine_takes_the_lean_path():
    assert isinstance(Client("http://127.0.0.1:8750")._transport, LoopbackTransport)
    assert Client("http://localhost:8750/prefix")._transport.path == "/prefix/api/v1"
    assert Client("http://[::1]:8750")._transport.host_header == "[::1]:8750"
    assert isinstance(Client("https://127.0.0.1:8750")._transport, HTTPXTransport)
    assert isinstance(Client("http://pool.example.org")._transport, HTTPXTransport)


def test_every_call_but_the_event_stream_goes_through_the_lean_path(client):
    job = client.submit(wire.dumps(wire.CallTask(int)), {"kind": "call"}, wait=30)
    assert client.job(job["id"])["state"] == "done" and client.account()["tier"] == "standard"
    assert client._streams is None
    assert list(client.events(job["id"]))[-1].type == "done"
    assert client._streams is not None


def test_a_submission_after_the_pool_dropped_the_idle_connection_is_sent_again(client):
    task = wire.dumps(wire.CallTask(sum, ([1, 2],)))
    first = client.submit(task, {"kind": "call"}, wait=30)
    (idle,) = client._transport._idle
    time.sleep(5.5)  # past uvicorn's keep-alive timeout: the pool closes the idle socket
    second = client.submit(task, {"kind": "call"}, wait=30)
    assert first["state"] == second["state"] == "done" and first["id"] != second["id"]
    assert client._transport._idle[0] is not idle and idle.fileno() == -1


def test_a_refused_token_keeps_the_pools_sentence(pool_server):
    bad = Client(pool_server.url, "fs_wrong")
    with pytest.raises(errors.BadToken, match="not valid"):
        bad.submit(wire.dumps(wire.CallTask(int)), {"kind": "call"})
    bad.close()


def test_a_pool_that_is_gone_is_reported_unreachable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(errors.PoolUnreachable, match=f"127.0.0.1:{port}"):
        Client(f"http://127.0.0.1:{port}", "t").submit(b"x", {"kind": "call"})


def test_a_line_break_in_a_header_value_is_refused_before_anything_is_sent(pool_server):
    sneaky = Client(pool_server.url, "fs_x\r\nX-Admin: yes")
    with pytest.raises(errors.BadRequest, match="line break"):
        sneaky.submit(wire.dumps(wire.CallTask(int)), {"kind": "call"})


def test_a_large_submission_after_an_idle_pause_is_sent_again_on_a_fresh_socket(client):
    """A 200 kB body written onto a socket the pool has closed breaks in ``sendall``
    (BrokenPipeError, ECONNRESET), not in ``recv``; it must be sent again, not reported as
    a pool that is down."""
    task = wire.dumps(wire.CallTask(len, (b"x" * 200_000,)))
    assert len(task) > 200_000
    for _ in range(3):
        answer = client.submit(task, {"kind": "call"}, wait=30)
        assert answer["state"] == "done"
        time.sleep(7)  # past uvicorn's keep-alive timeout: the pool closes the idle socket
    assert client.submit(task, {"kind": "call"}, wait=30)["state"] == "done"
