"""What the server extension knows and does: which pool, with which token, and how it fares.

The handlers only translate HTTP to calls here, so everything that can go wrong between the
Jupyter server and the pool is decided in one place and is testable without a browser:

- which pool: ``c.FairShare.pool_url``/``token``, else ``FAIRSHARE_URL``/``FAIRSHARE_TOKEN``
  or the user's fairshare config file, else (with ``embedded``) the embedded pool, started
  in a background thread so the Jupyter server never waits for it;
- the environment kernels inherit: the pool's URL and token go into ``os.environ`` so
  ``%%fairshare`` in a kernel started by this server reaches the same pool with no setup,
  and are taken out again at stop;
- failures: each one becomes a :class:`Unavailable` with an HTTP status and one sentence
  saying what to do. The token never leaves this module towards the browser.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from .. import embedded as embedded_pool
from ..client import AsyncClient, Event, errors, settings

__all__ = ["FairShareManager", "Unavailable"]

JOBS_LIMIT = 50
DATA_DIR_ENV = "FAIRSHARE_DATA_DIR"
T = TypeVar("T")


class Unavailable(Exception):
    """The pool cannot serve a request; ``status`` is the HTTP status, ``state`` the status word."""

    def __init__(self, status: int, state: str, message: str) -> None:
        self.status = status
        self.state = state
        self.message = message
        super().__init__(message)


class FairShareManager:
    """One pool connection for the whole Jupyter server, shared by every browser tab."""

    def __init__(
        self,
        pool_url: str = "",
        token: str = "",
        *,
        embedded: bool = True,
        embedded_workers: int | None = None,
        data_dir: Path | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self._configured_url = pool_url.rstrip("/")
        self._configured_token = token
        self._embedded_allowed = embedded
        self._embedded_workers = embedded_workers
        self._data_dir = data_dir
        self.log = log or logging.getLogger(__name__)
        self.url: str | None = None
        self.embedded = False
        self._client: AsyncClient | None = None
        self._starting: concurrent.futures.Future[tuple[str, str]] | None = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._started_embedded = False
        self._embedded_dir: Path | None = None
        self._env_before: dict[str, str | None] = {}
        self._config_error: str | None = None

    # -- life cycle -------------------------------------------------------------------

    def start(self) -> None:
        """Pick the pool; if it is the embedded one, start it in the background and return at once."""
        try:
            found = self._configured()
        except errors.FairshareError as exc:  # an unreadable config file; status says which
            self._config_error = str(exc)
            self.log.warning("fairshare: %s", exc)
            return
        if found is not None:
            url, token, source = found
            self._connect(url, token)
            self.log.info("fairshare: using the pool at %s (from %s)", url, source)
            return
        if not self._embedded_allowed:
            self.log.warning("fairshare: no pool is configured and c.FairShare.embedded is False")
            return
        self.embedded = True
        data_dir = self._embedded_dir = self.embedded_data_dir()
        # Kernels started before the pool is up then find the same embedded pool, not their own.
        if not os.environ.get(DATA_DIR_ENV):
            self._export({DATA_DIR_ENV: str(data_dir)})
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="fairshare-embedded")
        self._starting = self._executor.submit(self._start_embedded, data_dir)
        # A server that exits without stopping its extensions (e.g. refused at start-up) must
        # not leave behind a pool it started; executor threads finish before atexit runs.
        atexit.register(self._stop_embedded)

    async def stop(self) -> None:
        """Close connections, stop the embedded pool if this server started it, restore the environment."""
        if self._starting is not None:
            # Let a start in progress finish, so the pool it starts is stopped below, not orphaned;
            # a failed start was already reported through status.
            with contextlib.suppress(RuntimeError, OSError, errors.FairshareError):
                await asyncio.wrap_future(self._starting)
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        atexit.unregister(self._stop_embedded)
        self._stop_embedded()
        for name, value in self._env_before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._env_before = {}

    def _stop_embedded(self) -> None:
        if self._started_embedded:
            self._started_embedded = False
            embedded_pool.stop(self._embedded_dir)
            self.log.info("fairshare: stopped the embedded pool this server started")

    def embedded_data_dir(self) -> Path:
        """``FAIRSHARE_DATA_DIR`` if set, else ``<jupyter data dir>/fairshare``."""
        if os.environ.get(DATA_DIR_ENV):
            return Path(os.environ[DATA_DIR_ENV])
        if self._data_dir is None:
            from jupyter_core.paths import jupyter_data_dir

            return Path(jupyter_data_dir()) / "fairshare"
        return self._data_dir

    def _configured(self) -> tuple[str, str | None, str] | None:
        if self._configured_url:
            token = self._configured_token or os.environ.get(settings.TOKEN_ENV)
            return self._configured_url, token, "c.FairShare.pool_url"
        file_url = settings.read_config(settings.config_path()).get("url")
        if os.environ.get(settings.URL_ENV) or file_url:
            found = settings.resolve(token=self._configured_token or None)
            return found.url, found.token, found.source
        return None

    def _start_embedded(self, data_dir: Path) -> tuple[str, str]:
        was_running = embedded_pool.running(data_dir) is not None
        url, token = embedded_pool.ensure_running(data_dir=data_dir, workers=self._embedded_workers)
        self._started_embedded = not was_running
        self._connect(url, token)
        self.log.info("fairshare: %s the embedded pool at %s", "started" if self._started_embedded else "reusing", url)
        return url, token

    def _connect(self, url: str, token: str | None) -> None:
        self.url = url.rstrip("/")
        self._client = AsyncClient(self.url, token)
        # A URL the user exported stays, with its token; otherwise URL and token go together,
        # since a token means nothing at another pool.
        if not os.environ.get(settings.URL_ENV):
            self._export({settings.URL_ENV: self.url, settings.TOKEN_ENV: token or ""})

    def _export(self, values: dict[str, str]) -> None:
        """Put values into the environment kernels inherit; :meth:`stop` puts the old ones back."""
        for name, value in values.items():
            self._env_before.setdefault(name, os.environ.get(name))
            os.environ[name] = value

    # -- what the handlers ask --------------------------------------------------------

    async def status(self) -> dict[str, Any]:
        """Where the pool is and whether it answers this server's token; never raises."""
        base: dict[str, Any] = {"pool_url": self.url, "embedded": self.embedded}
        try:
            await self._call(lambda client: client.account())
        except Unavailable as exc:
            return {**base, "state": exc.state, "message": exc.message}
        return {**base, "state": "ready", "message": None}

    async def pool(self) -> dict[str, Any]:
        """The pool's sites (capacity, carbon now) and their prices, for the sidebar's header."""
        sites, prices = await asyncio.gather(self._call(lambda client: client.public("sites")),
                                             self._call(lambda client: client.public("prices")))
        return {"sites": sites.get("sites", []), "prices": prices.get("sites", [])}

    async def account(self) -> dict[str, Any]:
        """This server's account on the pool: tier, shares, credits, balance, usage."""
        return await self._call(lambda client: client.account())

    async def jobs(self, limit: int = JOBS_LIMIT) -> dict[str, Any]:
        """The account's newest jobs."""
        return {"jobs": await self._call(lambda client: client.jobs(limit=limit))}

    async def why(self, job_id: str) -> dict[str, Any]:
        """Why the job waits where it waits."""
        return await self._call(lambda client: client.why(job_id))

    async def cancel(self, job_id: str) -> dict[str, Any]:
        """Cancel the job; the pool answers with the job, now cancelled."""
        return await self._call(lambda client: client.cancel(job_id))

    @asynccontextmanager
    async def events(self) -> AsyncIterator[AsyncIterator[Event]]:
        """Open the account's live event stream; failing to open raises :class:`Unavailable`.

        Opening is separate from reading so a handler can answer an HTTP error before it
        commits to a 200 event stream.
        """
        client = self._ready()
        async with contextlib.AsyncExitStack() as stack:
            try:
                events = await stack.enter_async_context(client.open_events())
            except errors.FairshareError as exc:
                raise self._unavailable(exc) from None
            yield self._relayed(events)

    async def _relayed(self, events: AsyncIterator[Event]) -> AsyncIterator[Event]:
        """The events, with a pool that goes away mid-stream told as :class:`Unavailable`."""
        try:
            async for event in events:
                yield event
        except errors.FairshareError as exc:
            raise self._unavailable(exc) from None

    # -- translation ------------------------------------------------------------------

    def _ready(self) -> AsyncClient:
        if self._client is not None:
            return self._client
        if self._starting is not None:
            if not self._starting.done():
                raise Unavailable(503, "starting",
                                  "The embedded fair-share pool is starting; try again in a few seconds.")
            exc = self._starting.exception()
            # ensure_running's own errors are sentences naming the log to read.
            message = str(exc) if isinstance(exc, RuntimeError) else (
                f"The embedded fair-share pool could not start ({type(exc).__name__}: {exc}); "
                "see the Jupyter server's log."
            )
            raise Unavailable(503, "unreachable", message)
        if self._config_error is not None:
            raise Unavailable(503, "unreachable", self._config_error)
        raise Unavailable(
            503,
            "unreachable",
            "No fair-share pool is configured; set c.FairShare.pool_url and c.FairShare.token "
            "(or FAIRSHARE_URL and FAIRSHARE_TOKEN) and restart Jupyter.",
        )

    async def _call(self, call: Callable[[AsyncClient], Awaitable[T]]) -> T:
        """One client call, its failure told as :class:`Unavailable`."""
        client = self._ready()
        try:
            return await call(client)
        except errors.FairshareError as exc:
            raise self._unavailable(exc) from None

    def _unavailable(self, exc: errors.FairshareError) -> Unavailable:
        """The HTTP status and sentence the browser gets for a client error."""
        if isinstance(exc, errors.PoolUnreachable):
            return Unavailable(
                503,
                "unreachable",
                f"The fair-share pool at {self.url} does not answer; start it with `fairshare pool serve` "
                "or check c.FairShare.pool_url.",
            )
        if isinstance(exc, errors.BadToken):
            # 502, not 401/403: the browser's Jupyter login is fine, the server's pool token is not.
            return Unavailable(
                502,
                "bad-token",
                f"The fair-share pool at {self.url} refused this server's token; set FAIRSHARE_TOKEN "
                "(or c.FairShare.token) to a valid token and restart Jupyter.",
            )
        if isinstance(exc, errors.JobNotFound):
            return Unavailable(404, "ready", str(exc))
        if isinstance(exc, errors.CreditsTooLow):
            return Unavailable(402, "ready", str(exc))
        if isinstance(exc, errors.BadRequest):
            return Unavailable(400, "ready", str(exc))
        return Unavailable(502, "unreachable", str(exc))

