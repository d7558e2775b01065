"""The HTTP client: the event-stream reader and the mapping of failures to the error tree."""

import socket

import httpx
import pytest

from jupyter_fairshare import errors
from jupyter_fairshare.client import Client, Event, parse_events, raise_for_response

from .fakepool import FakePool


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


def test_the_token_travels_as_a_bearer_header_and_a_bad_one_is_refused():
    fake = FakePool()
    assert fake.pool().account()["name"] == "ada"
    assert fake.requests[-1].headers["authorization"] == "Bearer good"
    bad = Client("http://pool.test", "wrong", transport=httpx.MockTransport(fake.handle))
    with pytest.raises(errors.BadToken, match="not valid"):
        bad.account()


def test_submit_sends_the_payload_as_bytes_and_the_metadata_as_a_json_header():
    fake = FakePool(defer=True)
    client = fake.pool().client
    job = client.submit(b"FSJ1payload", {"kind": "call", "name": "n"}, wait=0.5)
    request = fake.requests[-1]
    assert request.url.params["wait"] == "0.5"
    assert request.headers["content-type"] == "application/octet-stream"
    assert fake.metas == [{"kind": "call", "name": "n"}]
    assert job["state"] == "queued"


def test_the_event_stream_resumes_after_the_last_event_id():
    fake = FakePool()
    pool = fake.pool()
    job = pool.submit(sum, [1, 2])
    every = list(pool.client.events(job.id))
    rest = list(pool.client.events(job.id, last_event_id=every[1].id))
    assert rest == every[2:]
    assert fake.requests[-1].headers["last-event-id"] == every[1].id


async def test_the_async_calls_reach_the_same_endpoints():
    fake = FakePool()
    client = Client(
        "http://pool.test", "good", transport=httpx.MockTransport(fake.handle),
        async_transport=httpx.MockTransport(fake.handle),
    )
    with pytest.raises(errors.JobNotFound):
        await client.ajob("nope")
    await client.aclose()
    client.close()
