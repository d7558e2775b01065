"""``AsyncClient``: the same calls as :class:`~.Client`, awaited, for code on an event loop.

The Jupyter server extension and ``await job`` in a kernel use it. Every request goes
through httpx; the lean loopback path is blocking by design and serves the blocking cell.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from .base import API, HEALTH_TIMEOUT, BaseClient, blob, json_list, json_object
from .sse import Event, aiter_events
from .transport import AsyncHTTPXTransport, Request, Response, TransportError, TransportTimeout

__all__ = ["AsyncClient"]


class AsyncClient(BaseClient):
    """A persistent connection to one pool for an event loop; each coroutine is one request."""

    def __init__(self, url: str, token: str | None = None) -> None:
        super().__init__(url, token)
        self._transport = AsyncHTTPXTransport(self.url + API)

    async def aclose(self) -> None:
        """Close the open connections."""
        await self._transport.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def _send(self, request: Request, payload_size: int | None = None) -> Response:
        try:
            response = await self._transport.send(request)
        except TransportError as exc:
            raise self._unreachable(exc) from exc
        return self._checked(request, response, payload_size)

    async def submit(self, payload: bytes, meta: dict[str, Any], wait: float | None = None,
                     payload_file: str | None = None) -> dict[str, Any]:
        """Submit a payload, as :meth:`Client.submit <jupyter_fairshare.client.Client.submit>`."""
        request = self._submit(payload, meta, wait, payload_file)
        return json_object(await self._send(request, len(request.content)))

    async def job(self, job_id: str) -> dict[str, Any]:
        """The job as it stands."""
        return json_object(await self._send(self._get(f"/jobs/{job_id}")))

    async def jobs(self, state: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """This account's jobs, newest first."""
        return json_list(await self._send(self._jobs(state, limit)), "jobs")

    async def result(self, job_id: str) -> bytearray:
        """The result blob of a finished job, in mutable memory (see :class:`~.transport.Response`)."""
        return blob(await self._send(self._get(f"/jobs/{job_id}/result")))

    async def cancel(self, job_id: str) -> dict[str, Any]:
        """Cancel the job; returns it, now cancelled."""
        return json_object(await self._send(self._post(f"/jobs/{job_id}/cancel")))

    async def why(self, job_id: str) -> dict[str, Any]:
        """Why the job waits where it waits: its priority components and those ahead."""
        return json_object(await self._send(self._get(f"/jobs/{job_id}/why")))

    async def account(self) -> dict[str, Any]:
        """This account: tier, shares, credits, held, balance, usage."""
        return json_object(await self._send(self._get("/account")))

    async def spool(self) -> dict[str, Any]:
        """Where a client on the pool's host may write a large payload."""
        return json_object(await self._send(self._get("/spool")))

    async def public(self, view: str) -> dict[str, Any]:
        """A public view: prices, sites, queue, stats or reservations."""
        return json_object(await self._send(self._public(view)))

    async def health(self) -> dict[str, Any]:
        """The pool's liveness answer (status and version); needs no token."""
        return json_object(await self._send(self._get("/health", timeout=HEALTH_TIMEOUT)))

    async def cluster(self) -> dict[str, Any]:
        """Where the pool's Dask scheduler is and its sites (admin token)."""
        return json_object(await self._send(self._get("/admin/cluster")))

    async def add_account(self, name: str, tier: str, shares: float = 1.0, credits: float = 0.0) -> dict[str, Any]:
        """Create an account (admin token); the answer holds its token."""
        body = {"name": name, "tier": tier, "shares": shares, "credits": credits}
        return json_object(await self._send(self._post("/admin/accounts", body)))

    @asynccontextmanager
    async def open_events(self, job_id: str | None = None, last_event_id: str | None = None,
                          timeout: float | None = None) -> AsyncIterator[AsyncIterator[Event]]:
        """Open a job's event stream (or, without ``job_id``, the account's) and read it inside.

        Opening fails at once with the error of the pool's answer, before any event is read,
        so a server can answer an HTTP error before it commits to a stream.
        """
        request = self._events(job_id, last_event_id, timeout)
        async with AsyncExitStack() as stack:
            try:
                streamed = await stack.enter_async_context(self._transport.stream(request))
            except TransportError as exc:
                raise self._unreachable(exc) from exc
            self._checked(request, streamed.response)
            yield aiter_events(self._guarded(streamed.lines, job_id, timeout))

    async def _guarded(self, lines: AsyncIterator[str], job_id: str | None,
                       timeout: float | None) -> AsyncIterator[str]:
        try:
            async for line in lines:
                yield line
        except TransportTimeout as exc:
            raise self._silent(job_id, timeout) from exc
        except TransportError as exc:
            raise self._unreachable(exc) from exc

    async def events(self, job_id: str, last_event_id: str | None = None,
                     timeout: float | None = None) -> AsyncIterator[Event]:
        """The job's events, as :meth:`Client.events <jupyter_fairshare.client.Client.events>`."""
        async with self.open_events(job_id, last_event_id, timeout) as events:
            async for event in events:
                yield event
