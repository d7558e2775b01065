"""The one event-stream decoder: fields, comments, multi-line data, and the end of a stream."""

from jupyter_fairshare.client import Event
from jupyter_fairshare.client.sse import Decoder, aiter_events, iter_events

LINES = [
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
EVENTS = [Event("1", "queued", {"job": "j", "position": 3}), Event("2", "output", {"job": "j", "text": "hi"})]


def test_events_are_decoded_with_ids_types_and_json_data():
    assert list(iter_events(LINES)) == EVENTS


async def test_lines_from_an_event_loop_decode_to_the_same_events():
    async def lines():
        for line in LINES:
            yield line

    assert [event async for event in aiter_events(lines())] == EVENTS


def test_a_last_event_without_its_blank_line_still_counts():
    assert [e.type for e in iter_events(["event: done", "data: {}"])] == ["done"]


def test_data_that_is_not_a_json_object_is_kept_not_dropped():
    assert list(iter_events(["data: plain words", "", "data: [1, 2]", ""])) == [
        Event(None, "message", {"text": "plain words"}), Event(None, "message", {"value": [1, 2]})]


def test_a_blank_line_without_data_ends_nothing_and_forgets_the_fields_before_it():
    decoder = Decoder()
    assert decoder.feed("event: stray") is None and decoder.feed("") is None
    decoder.feed("data: {}")
    assert decoder.feed("\r\n") == Event(None, "message", {})
