"""``Client`` against a real pool process: each call reaches its endpoint and maps its failures."""

import socket
import time

import pytest

from jupyter_fairshare import wire
from jupyter_fairshare.client import Client, errors


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def client(pool_server):
    with Client(pool_server.url, pool_server.add_account(f"sync-{time.monotonic_ns()}", credits=5.0)) as client:
        yield client


def test_no_pool_at_the_url_names_it_and_how_to_start_one():
    port = _free_port()
    with Client(f"http://127.0.0.1:{port}", "t") as client, pytest.raises(
            errors.PoolUnreachable, match=f"127.0.0.1:{port}.*fairshare pool serve"):
        client.account()


def test_the_token_travels_as_a_bearer_header_and_a_bad_one_is_refused(pool_server, client):
    assert client.account()["tier"] == "standard"
    with Client(pool_server.url, "fs_wrong") as bad, pytest.raises(errors.BadToken, match="not valid"):
        bad.account()


def test_submit_sends_the_payload_as_bytes_and_the_metadata_as_a_json_header(client):
    payload = wire.dumps(wire.CallTask(sum, ([1, 2],)))
    job = client.submit(payload, {"kind": "call", "name": "n", "memory": "500MB"}, wait=30)
    assert (job["state"], job["name"], job["kind"], job["memory"]) == ("done", "n", "call", 500 * 10**6)
    assert wire.loads(client.result(job["id"])).value == 3
    assert client.job(job["id"])["state"] == "done"
    assert [j["id"] for j in client.jobs(limit=1)] == [job["id"]]


def test_a_refusal_for_credits_carries_the_pools_estimate_and_balance(client):
    with pytest.raises(errors.CreditsTooLow) as info:
        client.submit(wire.dumps(wire.CallTask(int)), {"kind": "call", "max_cost": 9.0})
    assert (info.value.estimate, info.value.balance) == (9.0, 5.0)
    assert info.value.code == "credits_too_low" or info.value.code is None


def test_another_accounts_job_is_not_found(pool_server, client):
    job = client.submit(wire.dumps(wire.CallTask(int)), {"kind": "call"}, wait=30)
    with Client(pool_server.url, pool_server.add_account(f"other-{time.monotonic_ns()}")) as other:
        with pytest.raises(errors.JobNotFound):
            other.job(job["id"])


def test_the_event_stream_resumes_after_the_last_event_id(client):
    job = client.submit(wire.dumps(wire.CallTask(print, ("hello",))), {"kind": "call"}, wait=30)
    every = list(client.events(job["id"]))
    assert every[0].type == "queued" and every[-1].type == "done"
    assert list(client.events(job["id"], last_event_id=every[1].id)) == every[2:]


def test_opening_the_events_of_an_unknown_job_fails_before_any_event_is_read(client):
    with pytest.raises(errors.JobNotFound):
        with client.open_events("0" * 32):
            pass


def test_a_job_that_sends_no_news_within_the_timeout_raises_timeout_error(client):
    job = client.submit(wire.dumps(wire.CallTask(time.sleep, (3,))), {"kind": "call"})
    with pytest.raises(TimeoutError, match="no news within 0.5 s"):
        for _ in client.events(job["id"], timeout=0.5):
            pass
    client.cancel(job["id"])


@pytest.mark.parametrize(("view", "key"), [("prices", "sites"), ("sites", "sites"), ("queue", "queue"),
                                         ("stats", "windows"), ("reservations", "reservations")])
def test_each_public_view_needs_no_token(pool_server, view, key):
    with Client(pool_server.url) as anonymous:
        assert key in anonymous.public(view)


def test_only_a_loopback_url_is_on_this_host():
    assert Client("http://127.0.0.1:1").on_this_host() and Client("https://localhost/pool").on_this_host()
    assert not Client("http://pool.example.org").on_this_host()


def test_an_unknown_public_view_is_refused_here_and_health_needs_no_token(pool_server):
    with Client(pool_server.url) as anonymous:
        assert anonymous.health()["status"] == "ok"
        with pytest.raises(ValueError, match="no public view 'secrets'"):
            anonymous.public("secrets")


def test_an_admin_token_creates_accounts_and_reads_the_cluster(pool_server):
    with Client(pool_server.url, pool_server.admin_token) as admin:
        created = admin.add_account(f"made-{time.monotonic_ns()}", "newcomer", credits=1.0)
        assert "scheduler" in admin.cluster()
    with Client(pool_server.url, created["token"]) as made:
        assert made.account()["tier"] == "newcomer"
