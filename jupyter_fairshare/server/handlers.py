"""The browser's view of the pool under ``/fairshare/api/``: thin handlers over the manager.

Each handler is authenticated by Jupyter and authorised on the ``fairshare`` resource; it
turns one request into one manager call and the manager's :class:`Unavailable` into a JSON
error ``{"message": <one sentence saying what to do>, "state": ...}``. The pool's token
stays in the manager: nothing here writes it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web
from tornado.iostream import StreamClosedError

from ..client import Event
from .manager import FairShareManager, Unavailable

__all__ = ["default_handlers"]

AUTH_RESOURCE = "fairshare"
# Browsers, proxies and load balancers drop idle streams; a comment this often keeps it open
# and lets the server notice a browser that went away.
KEEPALIVE = 15.0
JOB = r"(?P<job_id>[0-9A-Za-z_-]+)"


class FairShareHandler(APIHandler):
    """Base: the manager, and the one way failures are written."""

    auth_resource = AUTH_RESOURCE

    @property
    def manager(self) -> FairShareManager:
        manager: FairShareManager = self.settings["fairshare_manager"]
        return manager

    async def reply(self, call: Awaitable[dict[str, Any]]) -> None:
        try:
            body = await call
        except Unavailable as exc:
            self.fail(exc)
            return
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def fail(self, exc: Unavailable) -> None:
        self.set_status(exc.status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"message": exc.message, "state": exc.state}))


class StatusHandler(FairShareHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Whether the pool is starting, ready, unreachable or refuses the token (always 200)."""
        self.finish(json.dumps(await self.manager.status()))


class PoolHandler(FairShareHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        """The pool's sites and their prices."""
        await self.reply(self.manager.pool())


class AccountHandler(FairShareHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        """This server's account on the pool."""
        await self.reply(self.manager.account())


class JobsHandler(FairShareHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        """The account's newest jobs."""
        await self.reply(self.manager.jobs())


class WhyHandler(FairShareHandler):
    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        """Why the job waits where it waits."""
        await self.reply(self.manager.why(job_id))


class CancelHandler(FairShareHandler):
    @web.authenticated
    @authorized
    async def post(self, job_id: str) -> None:
        """Cancel the job."""
        await self.reply(self.manager.cancel(job_id))


class EventsHandler(FairShareHandler):
    """The account's job events as server-sent events, relayed live from the pool."""

    def initialize(self, **kwargs: Any) -> None:
        super().initialize(**kwargs)
        self._gone = asyncio.Event()
        self._streaming = False

    def on_connection_close(self) -> None:
        self._gone.set()

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """An EventSource stream: one ``event:``/``data:`` per pool event, comments to keep it alive."""
        try:
            async with self.manager.events() as events:
                self.set_header("Content-Type", "text/event-stream")
                self.set_header("Cache-Control", "no-cache")
                self.set_header("X-Accel-Buffering", "no")  # nginx would otherwise hold the stream back
                self._streaming = True
                await self._send(": connected\n\n")
                await self._relay(events)
        except Unavailable as exc:
            if not self._streaming:
                self.fail(exc)
                return
            # Already streaming: tell the page why it ends; EventSource then reconnects.
            why = json.dumps({"message": exc.message, "state": exc.state})
            await self._send(f"event: unavailable\ndata: {why}\n\n")
        except StreamClosedError:
            return
        if not self._finished:
            self.finish()

    async def _relay(self, events: AsyncIterator[Event]) -> None:
        iterator = events.__aiter__()
        gone = asyncio.ensure_future(self._gone.wait())
        pending: asyncio.Future[Event] | None = None
        try:
            while True:
                if pending is None:
                    pending = asyncio.ensure_future(iterator.__anext__())
                waiting: set[asyncio.Future[Any]] = {pending, gone}
                done, _ = await asyncio.wait(waiting, timeout=KEEPALIVE, return_when=asyncio.FIRST_COMPLETED)
                if gone in done:
                    return
                if pending not in done:
                    await self._send(": keep-alive\n\n")
                    continue
                try:
                    event = pending.result()
                except StopAsyncIteration:
                    return
                pending = None
                await self._send(_sse(event))
        finally:
            gone.cancel()
            if pending is not None:
                pending.cancel()

    async def _send(self, text: str) -> None:
        self.write(text)
        await self.flush()


def _sse(event: Event) -> str:
    lines = [f"id: {event.id}"] if event.id is not None else []
    lines += [f"event: {event.type}", f"data: {json.dumps(event.data, separators=(',', ':'))}"]
    return "\n".join(lines) + "\n\n"


default_handlers: list[tuple[str, type[FairShareHandler]]] = [
    (r"/fairshare/api/status", StatusHandler),
    (r"/fairshare/api/pool", PoolHandler),
    (r"/fairshare/api/account", AccountHandler),
    (r"/fairshare/api/jobs", JobsHandler),
    (rf"/fairshare/api/jobs/{JOB}/why", WhyHandler),
    (rf"/fairshare/api/jobs/{JOB}/cancel", CancelHandler),
    (r"/fairshare/api/events", EventsHandler),
]
