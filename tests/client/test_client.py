"""The HTTP client: the event-stream reader and the mapping of failures to the error tree."""

import socket
import time

import httpx
import pytest

from jupyter_fairshare import wire
from jupyter_fairshare.client import errors
from jupyter_fairshare.client import Client, Event, parse_events, raise_for_response


def test_events_are_parsed_with_ids_types_and_json_data():
    lines = [
        ": a keep-alive comment",
        "id: 1",
        "event: queued",
        'data: {"job": "j", "position": 3}',
        "",
        "id: 2",
        "event: output",
        'data: {"job": "j",',
        'data:  "text": "hi"}',
        "",
    ]
    assert list(parse_events(lines)) == [
        Event("1", "queued", {"job": "j", "position": 3}),
        Event("2", "output", {"job": "j", "text": "hi"}),
    ]


def test_a_last_event_without_its_blank_line_still_counts():
    assert [e.type for e in parse_events(["event: done", "data: {}"])] == ["done"]


def _response(status, body):
    return httpx.Response(status, json=body, request=httpx.Request("GET", "http://pool.test/api/v1/jobs"))


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, errors.BadToken),
        (403, errors.BadToken),
        (402, errors.CreditsTooLow),
        (404, errors.JobNotFound),
        (409, errors.BadRequest),
        (413, errors.PayloadTooLarge),
        (422, errors.BadRequest),
        (500, errors.PoolError),
        (503, errors.PoolError),
    ],
)
def test_each_failure_status_becomes_its_error_with_the_pools_sentence(status, error):
    with pytest.raises(error, match="^The pool's own sentence.$"):
        raise_for_response(_response(status, {"detail": "The pool's own sentence."}))


def test_credits_too_low_carries_the_estimate_and_balance_when_the_pool_sends_them():
    with pytest.raises(errors.CreditsTooLow) as info:
        raise_for_response(_response(402, {"detail": "Too low.", "estimate": 1.5, "balance": 0.25}))
    assert (info.value.estimate, info.value.balance) == (1.5, 0.25)


def test_payload_too_large_says_the_size_sent_when_the_pool_gives_no_sentence():
    with pytest.raises(errors.PayloadTooLarge, match="1234 bytes") as info:
        raise_for_response(_response(413, {}), payload_size=1234)
    assert info.value.size == 1234


def test_success_raises_nothing():
    raise_for_response(_response(201, {"id": "j"}))


def test_no_pool_at_the_url_names_it_and_how_to_start_one():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = Client(f"http://127.0.0.1:{port}", "t")
    with pytest.raises(errors.PoolUnreachable, match=f"127.0.0.1:{port}.*fairshare pool serve"):
        client.account()
    client.close()


@pytest.fixture
def client(pool_server):
    client = Client(pool_server.url, pool_server.add_account(f"client-{time.monotonic_ns()}", credits=5.0))
    yield client
    client.close()


def test_the_token_travels_as_a_bearer_header_and_a_bad_one_is_refused(pool_server, client):
    assert client.account()["tier"] == "standard"
    bad = Client(pool_server.url, "fs_wrong")
    with pytest.raises(errors.BadToken, match="not valid"):
        bad.account()
    bad.close()


def test_submit_sends_the_payload_as_bytes_and_the_metadata_as_a_json_header(client):
    payload = wire.dumps(wire.CallTask(sum, ([1, 2],)))
    job = client.submit(payload, {"kind": "call", "name": "n", "memory": "500MB"}, wait=30)
    assert (job["state"], job["name"], job["kind"], job["memory"]) == ("done", "n", "call", 500 * 10**6)
    assert wire.loads(client.result(job["id"])).value == 3


def test_a_refusal_for_credits_carries_the_pools_estimate_and_balance(client):
    with pytest.raises(errors.CreditsTooLow) as info:
        client.submit(wire.dumps(wire.CallTask(int)), {"kind": "call", "max_cost": 9.0})
    assert (info.value.estimate, info.value.balance) == (9.0, 5.0)


def test_the_event_stream_resumes_after_the_last_event_id(client):
    job = client.submit(wire.dumps(wire.CallTask(print, ("hello",))), {"kind": "call"}, wait=30)
    every = list(client.events(job["id"]))
    assert [e.type for e in every][0] == "queued" and every[-1].type == "done"
    rest = list(client.events(job["id"], last_event_id=every[1].id))
    assert rest == every[2:]


async def test_the_async_calls_reach_the_same_endpoints(client):
    job = client.submit(wire.dumps(wire.CallTask(int)), {"kind": "call"}, wait=30)
    with pytest.raises(errors.JobNotFound):
        await client.ajob("0" * 32)
    assert (await client.ajob(job["id"]))["state"] == "done"
    assert wire.loads(await client.aresult(job["id"])).value == 0
    await client.aclose()
