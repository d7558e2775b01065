"""``Client``: the blocking client, for the magics, the Python API, the CLI, the demo and nodes.

It keeps its connections open so the short path costs one round trip. To a plain-HTTP pool
on this machine its requests go through :mod:`.loopback` (a tenth of httpx's CPU time per
request); event streams, and every other pool, go through httpx.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from .base import API, HEALTH_TIMEOUT, READ_TIMEOUT, BaseClient, blob, json_list, json_object
from .sse import Event, iter_events
from .transport import HTTPXTransport, Request, Response, Transport, TransportError, TransportTimeout

try:
    from .loopback import LoopbackTransport
except ImportError:  # httptools comes with uvicorn[standard]; without it every request goes through httpx
    LoopbackTransport = None  # type: ignore[assignment,misc]

__all__ = ["Client"]


class Client(BaseClient):
    """A persistent connection to one pool; each method is one request."""

    def __init__(self, url: str, token: str | None = None) -> None:
        super().__init__(url, token)
        self._streams: HTTPXTransport | None = None
        self._streams_lock = threading.Lock()
        self._transport: Transport = (
            (LoopbackTransport.for_url(self.url + API) if LoopbackTransport is not None else None)
            or self._httpx()
        )

    def _httpx(self) -> HTTPXTransport:
        # Made on first use: a kernel on loopback may never stream, and httpx's set-up costs ~50 ms.
        # Made once under a lock: threads that follow jobs at the same moment would otherwise
        # each build one (20 followers built several, one after another, before the first event).
        with self._streams_lock:
            if self._streams is None:
                self._streams = HTTPXTransport(self.url + API)
            return self._streams

    def close(self) -> None:
        """Close the open connections."""
        self._transport.close()
        if self._streams is not None:
            self._streams.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _send(self, request: Request, payload_size: int | None = None) -> Response:
        try:
            response = self._transport.send(request)
        except TransportError as exc:
            raise self._unreachable(exc) from exc
        return self._checked(request, response, payload_size)

    def submit(self, payload: bytes, meta: dict[str, Any], wait: float | None = None,
               payload_file: str | None = None) -> dict[str, Any]:
        """Submit a payload; with ``wait``, hold the request until the job ends or that many seconds pass.

        ``payload_file`` names a payload already written into the pool's spool (same host).
        Sending it twice is safe (a lost keep-alive socket): the job id is in its metadata.
        """
        request = self._submit(payload, meta, wait, payload_file)
        return json_object(self._send(request, len(request.content)))

    def job(self, job_id: str) -> dict[str, Any]:
        """The job as it stands."""
        return json_object(self._send(self._get(f"/jobs/{job_id}")))

    def jobs(self, state: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """This account's jobs, newest first."""
        return json_list(self._send(self._jobs(state, limit)), "jobs")

    def result(self, job_id: str, timeout: float = READ_TIMEOUT) -> bytearray:
        """The result blob of a finished job, in mutable memory (see :class:`~.transport.Response`).

        ``timeout`` bounds the wait for the answer; a pool that takes longer raises :class:`TimeoutError`.
        """
        request = self._get(f"/jobs/{job_id}/result", timeout=timeout)
        try:
            response = self._transport.send(request)
        except TransportTimeout as exc:
            raise TimeoutError(f"The result of job {job_id} did not arrive within {timeout:g} s; "
                               "ask for it again.") from exc
        except TransportError as exc:
            raise self._unreachable(exc) from exc
        return blob(self._checked(request, response))

    def cancel(self, job_id: str) -> dict[str, Any]:
        """Cancel the job; returns it, now cancelled."""
        return json_object(self._send(self._post(f"/jobs/{job_id}/cancel")))

    def why(self, job_id: str) -> dict[str, Any]:
        """Why the job waits where it waits: its priority components and those ahead."""
        return json_object(self._send(self._get(f"/jobs/{job_id}/why")))

    def account(self) -> dict[str, Any]:
        """This account: tier, shares, credits, held, balance, usage."""
        return json_object(self._send(self._get("/account")))

    def spool(self) -> dict[str, Any]:
        """Where a client on the pool's host may write a large payload."""
        return json_object(self._send(self._get("/spool")))

    def public(self, view: str) -> dict[str, Any]:
        """A public view: prices, sites, queue, stats or reservations."""
        return json_object(self._send(self._public(view)))

    def health(self) -> dict[str, Any]:
        """The pool's liveness answer (status and version); needs no token."""
        return json_object(self._send(self._get("/health", timeout=HEALTH_TIMEOUT)))

    def cluster(self) -> dict[str, Any]:
        """Where the pool's Dask scheduler is and its sites (admin token)."""
        return json_object(self._send(self._get("/admin/cluster")))

    def add_account(self, name: str, tier: str, shares: float = 1.0, credits: float = 0.0) -> dict[str, Any]:
        """Create an account (admin token); the answer holds its token."""
        body = {"name": name, "tier": tier, "shares": shares, "credits": credits}
        return json_object(self._send(self._post("/admin/accounts", body)))

    @contextmanager
    def open_events(self, job_id: str | None = None, last_event_id: str | None = None,
                    timeout: float | None = None) -> Iterator[Iterator[Event]]:
        """Open a job's event stream (or, without ``job_id``, the account's) and read it inside.

        Opening fails at once with the error of the pool's answer, before any event is read;
        ``timeout`` bounds the wait for each next event and raises :class:`TimeoutError`.
        """
        request = self._events(job_id, last_event_id, timeout)
        with ExitStack() as stack:
            try:
                streamed = stack.enter_context(self._httpx().stream(request))
            except TransportError as exc:
                raise self._unreachable(exc) from exc
            self._checked(request, streamed.response)
            yield iter_events(self._guarded(streamed.lines, job_id, timeout))

    def _guarded(self, lines: Iterator[str], job_id: str | None, timeout: float | None) -> Iterator[str]:
        try:
            yield from lines
        except TransportTimeout as exc:
            raise self._silent(job_id, timeout) from exc
        except TransportError as exc:
            raise self._unreachable(exc) from exc

    def events(self, job_id: str, last_event_id: str | None = None, timeout: float | None = None) -> Iterator[Event]:
        """The job's events from its first (or after ``last_event_id``); ends after the final one.

        ``timeout`` bounds the wait for each next line, and the pool's keep-alive comments
        (every 15 s of silence) are lines too: to bound a whole wait, use :meth:`Job.wait
        <jupyter_fairshare.notebook.job.Job.wait>`. It raises :class:`TimeoutError`.
        """
        with self.open_events(job_id, last_event_id, timeout) as events:
            yield from events
