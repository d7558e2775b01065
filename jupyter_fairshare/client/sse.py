"""The one reader of the pool's event streams (WHATWG server-sent events).

A stream is lines of ``field: value``; a blank line ends an event. The pool's events carry
JSON objects as data, so a decoded :class:`Event` holds a dict; anything else is kept as
``{"text": ...}`` or ``{"value": ...}`` rather than dropped, since a reader of the stream
should see whatever the pool sent. The decoder is fed lines and knows nothing of sockets,
so the sync client, the async client and the server extension share it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Decoder", "Event", "aiter_events", "iter_events"]


@dataclass(frozen=True)
class Event:
    """One server-sent event of a job: its sequence id, type and JSON data."""

    id: str | None
    type: str
    data: dict[str, Any] = field(default_factory=dict)


class Decoder:
    """Turns SSE lines into events, one line at a time."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._id: str | None = None
        self._type = "message"
        self._data: list[str] = []

    def feed(self, line: str) -> Event | None:
        """The event this line completes, if it is the blank line that ends one."""
        line = line.rstrip("\r\n")
        if not line:
            return self._dispatch()
        if line.startswith(":"):  # a comment: the pool's keep-alive
            return None
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._type = value
        elif name == "id":
            self._id = value
        return None

    def flush(self) -> Event | None:
        """The event in progress when the stream ended without its blank line, if any."""
        return self._dispatch()

    def _dispatch(self) -> Event | None:
        if not self._data:
            self._reset()
            return None
        text = "\n".join(self._data)
        try:
            data: Any = json.loads(text)
        except ValueError:
            data = {"text": text}
        event = Event(self._id, self._type, data if isinstance(data, dict) else {"value": data})
        self._reset()
        return event


def iter_events(lines: Iterable[str]) -> Iterator[Event]:
    """Events in a stream of SSE lines; a final event without its blank line still counts."""
    decoder = Decoder()
    for line in lines:
        event = decoder.feed(line)
        if event is not None:
            yield event
    last = decoder.flush()
    if last is not None:
        yield last


async def aiter_events(lines: AsyncIterable[str]) -> AsyncIterator[Event]:
    """:func:`iter_events` for lines that arrive on an event loop."""
    decoder = Decoder()
    async for line in lines:
        event = decoder.feed(line)
        if event is not None:
            yield event
    last = decoder.flush()
    if last is not None:
        yield last
