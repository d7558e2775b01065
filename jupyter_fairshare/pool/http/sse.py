"""The event-stream response: a job's or an account's events as server-sent events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi.responses import StreamingResponse

from ..store.events import Event

KEEPALIVE = 15.0  # seconds of silence after which a comment line keeps proxies from closing the stream


def event_stream(events: AsyncIterator[Event]) -> StreamingResponse:
    """Stream ``events``, with a keep-alive comment when none came for ``KEEPALIVE`` seconds."""
    async def body() -> AsyncIterator[bytes]:
        iterator = events.__aiter__()
        pending = asyncio.ensure_future(iterator.__anext__())
        try:
            while True:
                done, _ = await asyncio.wait({pending}, timeout=KEEPALIVE)
                if not done:
                    yield b": keep-alive\n\n"
                    continue
                try:
                    event = pending.result()
                except StopAsyncIteration:
                    return
                yield event.sse()
                pending = asyncio.ensure_future(iterator.__anext__())
        finally:
            pending.cancel()
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()

    return StreamingResponse(body(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
