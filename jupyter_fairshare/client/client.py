"""The one HTTP client the notebook side, the server extension and the CLI use.

It speaks only the pool's HTTP API (docs/http-api.md), keeps its connections open so the
short path costs one round trip, and turns every failure into an error of
:mod:`jupyter_fairshare.client.errors` carrying the pool's own ``detail`` sentence. Payloads and
results pass through as bytes: this module never pickles or unpickles anything.

Sync methods serve the magics and blocking calls; the ``a``-prefixed ones serve awaiting a
job from a running event loop.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from . import errors

try:
    from . import loopback
except ImportError:  # httptools comes with uvicorn[standard]; without it every request goes through httpx
    loopback = None  # type: ignore[assignment]

__all__ = ["Client", "Event", "parse_events", "raise_for_response"]

API = "/api/v1"
# Long enough for a pool under load, short enough that a dead pool is reported promptly.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 60.0
# httpx writes a request's head and body in two sends; without TCP_NODELAY, Nagle's
# algorithm holds the body back until the head is acknowledged.
NO_DELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Event:
    """One server-sent event of a job: its sequence id, type and JSON data."""

    id: str | None
    type: str
    data: dict[str, Any]


class _EventDecoder:
    """Turns SSE lines into events (fields per the WHATWG server-sent events format)."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._id: str | None = None
        self._type = "message"
        self._data: list[str] = []

    def feed(self, line: str) -> Event | None:
        line = line.rstrip("\r\n")
        if not line:
            if not self._data:
                self._reset()
                return None
            text = "\n".join(self._data)
            try:
                data = json.loads(text)
            except ValueError:
                data = {"text": text}
            event = Event(self._id, self._type, data if isinstance(data, dict) else {"value": data})
            self._reset()
            return event
        if line.startswith(":"):
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


def parse_events(lines: Iterable[str]) -> Iterator[Event]:
    """Events in a stream of SSE lines; a final event without its blank line still counts."""
    decoder = _EventDecoder()
    for line in lines:
        event = decoder.feed(line)
        if event is not None:
            yield event
    event = decoder.feed("")
    if event is not None:
        yield event


def _detail(response: httpx.Response) -> tuple[str, dict[str, Any]]:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip(), {}
    if isinstance(body, dict):
        detail = body.get("detail")
        if isinstance(detail, str):
            return detail, body
        return json.dumps(detail) if detail is not None else "", body
    return "", {}


def raise_for_response(response: httpx.Response, payload_size: int | None = None) -> None:
    """Raise the hierarchy's error for a failed response, keeping the pool's sentence."""
    status = response.status_code
    if status < 400:
        return
    detail, body = _detail(response)
    where = str(response.request.url) if response.request else "the pool"
    if status in (401, 403):
        raise errors.BadToken(
            detail or "The pool did not accept the token; check FAIRSHARE_TOKEN or run `%fairshare connect URL --token T`."
        )
    if status == 402:
        raise errors.CreditsTooLow(
            detail or "The account's balance does not cover this job's estimate; ask the pool's admin for credits.",
            estimate=body.get("estimate"),
            balance=body.get("balance"),
        )
    if status == 404:
        raise errors.JobNotFound(detail or f"Nothing at {where}; check the job id with `%fairshare jobs`.")
    if status == 413:
        limit = body.get("limit")
        size = body.get("size", payload_size)
        raise errors.PayloadTooLarge(
            detail
            or f"The payload is {size} bytes, over the pool's limit of {limit} bytes; send less data or read it on the worker.",
            limit=limit,
            size=size,
        )
    if status in (400, 409, 422):
        raise errors.BadRequest(detail or f"The pool refused the request to {where} ({status}).")
    raise errors.PoolError(
        detail or f"The pool answered {status} to {where}; try again, and tell the pool's admin if it persists."
    )


class Client:
    """A persistent connection to one pool, with sync and async calls for each endpoint."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._timeout = httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT)
        self._http = httpx.Client(base_url=self.url + API, headers=self._headers, timeout=self._timeout,
                                  transport=httpx.HTTPTransport(socket_options=NO_DELAY))
        self._ahttp: httpx.AsyncClient | None = None
        self._aloop: asyncio.AbstractEventLoop | None = None
        self._loopback = _loopback_for(self.url)

    def __repr__(self) -> str:
        return f"Client({self.url!r})"

    def close(self) -> None:
        """Close the open connections."""
        self._http.close()
        if self._loopback is not None:
            self._loopback.close()

    # -- sync -------------------------------------------------------------------------

    def _send(self, method: str, path: str, payload_size: int | None = None, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise errors.PoolUnreachable(self.url, "it did not answer in time") from exc
        except httpx.TransportError as exc:
            raise errors.PoolUnreachable(self.url, type(exc).__name__) from exc
        raise_for_response(response, payload_size)
        return response

    def submit(self, payload: bytes, meta: dict[str, Any], wait: float | None = None,
               payload_file: str | None = None) -> dict[str, Any]:
        """Submit a payload; with ``wait``, hold the request until the job ends or that many seconds pass.

        ``payload_file`` names a payload already written into the pool's spool (same host).
        """
        if self._loopback is not None:
            headers = {"Fairshare-Job": json.dumps(meta)}
            if payload_file is not None:
                headers["Fairshare-Payload-File"] = payload_file
            return self._submit_on_loopback(payload, headers, wait)
        params = {"wait": wait} if wait else None
        timeout = httpx.Timeout(READ_TIMEOUT + (wait or 0), connect=CONNECT_TIMEOUT)
        if payload_file is not None:
            return self._send("POST", "/jobs", content=b"", params=params, timeout=timeout, headers={
                "Content-Type": "application/octet-stream", "Fairshare-Job": json.dumps(meta),
                "Fairshare-Payload-File": payload_file}).json()
        return self._send(
            "POST",
            "/jobs",
            payload_size=len(payload),
            content=_chunks(payload) if len(payload) > UPLOAD_CHUNK else payload,
            params=params,
            timeout=timeout,
            headers={"Content-Type": "application/octet-stream", "Fairshare-Job": json.dumps(meta),
                     "Content-Length": str(len(payload))},
        ).json()

    def _submit_on_loopback(self, payload: bytes, headers: dict[str, str], wait: float | None) -> dict[str, Any]:
        """``submit`` through :mod:`.loopback`: the same request, a tenth of the client's CPU.
        Sending it twice is safe (a lost keep-alive socket): the job id is in its metadata."""
        path = self._loopback.path + "/jobs" + (f"?wait={wait:g}" if wait else "")
        fields = {**self._headers, **headers}
        if any("\r" in v or "\n" in v for v in fields.values()):
            raise errors.BadRequest("The token or the job's metadata holds a line break; remove it and submit again.")
        lines = [f"POST {path} HTTP/1.1", f"Host: {self._loopback.host_header}",
                 "Content-Type: application/octet-stream", f"Content-Length: {len(payload)}",
                 *(f"{k}: {v}" for k, v in fields.items()), "", ""]
        try:
            answer = self._loopback.exchange("\r\n".join(lines).encode("latin-1"), payload,
                                             READ_TIMEOUT + (wait or 0))
        except TimeoutError as exc:
            raise errors.PoolUnreachable(self.url, "it did not answer in time") from exc
        except OSError as exc:
            raise errors.PoolUnreachable(self.url, type(exc).__name__) from exc
        if answer.status >= 400:
            raise_for_response(httpx.Response(answer.status, headers=answer.headers, content=answer.body,
                                              request=httpx.Request("POST", self.url + API + "/jobs")), len(payload))
        return json.loads(answer.body)

    def job(self, job_id: str) -> dict[str, Any]:
        """The job as it stands."""
        return self._send("GET", f"/jobs/{job_id}").json()

    def jobs(self, state: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """This account's jobs, newest first."""
        params = {k: v for k, v in (("state", state), ("limit", limit)) if v is not None}
        return self._send("GET", "/jobs", params=params).json()["jobs"]

    def result(self, job_id: str) -> bytes:
        """The result blob of a finished job."""
        return self._send("GET", f"/jobs/{job_id}/result").content

    def cancel(self, job_id: str) -> dict[str, Any]:
        """Cancel the job; returns it, now cancelled."""
        return self._send("POST", f"/jobs/{job_id}/cancel").json()

    def why(self, job_id: str) -> dict[str, Any]:
        """Why the job waits where it waits: its priority components and those ahead."""
        return self._send("GET", f"/jobs/{job_id}/why").json()

    def account(self) -> dict[str, Any]:
        """This account: tier, shares, credits, held, balance, usage."""
        return self._send("GET", "/account").json()

    def spool(self) -> dict[str, Any]:
        """Where a client on the pool's host may write a large payload."""
        return self._send("GET", "/spool").json()

    def on_this_host(self) -> bool:
        """Whether the pool's URL points at this machine (loopback)."""
        return httpx.URL(self.url).host in LOOPBACK

    def public(self, view: str) -> Any:
        """A public view: prices, sites, queue, stats or reservations."""
        return self._send("GET", f"/public/{view}").json()

    def events(
        self, job_id: str, last_event_id: str | None = None, timeout: float | None = None
    ) -> Iterator[Event]:
        """The job's events from its first (or after ``last_event_id``); ends after the final one.

        ``timeout`` bounds the wait for each next event; it raises :class:`TimeoutError`.
        """
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        stream_timeout = httpx.Timeout(timeout, connect=CONNECT_TIMEOUT)
        try:
            with self._http.stream(
                "GET", f"/jobs/{job_id}/events", headers=headers, timeout=stream_timeout
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    raise_for_response(response)
                yield from parse_events(response.iter_lines())
        except httpx.ReadTimeout as exc:
            raise TimeoutError(f"Job {job_id} sent no news within {timeout} s; it is still on the pool.") from exc
        except httpx.TransportError as exc:
            raise errors.PoolUnreachable(self.url, type(exc).__name__) from exc

    # -- async ------------------------------------------------------------------------

    def _async_http(self) -> httpx.AsyncClient:
        # An AsyncClient's connections belong to one event loop; a new loop gets a new client.
        loop = asyncio.get_running_loop()
        if self._ahttp is None or self._aloop is not loop:
            self._ahttp = httpx.AsyncClient(
                base_url=self.url + API,
                headers=self._headers,
                timeout=self._timeout,
                transport=httpx.AsyncHTTPTransport(socket_options=NO_DELAY),
            )
            self._aloop = loop
        return self._ahttp

    async def aclose(self) -> None:
        """Close the async connections of the current event loop."""
        if self._ahttp is not None:
            await self._ahttp.aclose()
            self._ahttp = None

    async def _asend(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._async_http().request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise errors.PoolUnreachable(self.url, "it did not answer in time") from exc
        except httpx.TransportError as exc:
            raise errors.PoolUnreachable(self.url, type(exc).__name__) from exc
        raise_for_response(response)
        return response

    async def ajob(self, job_id: str) -> dict[str, Any]:
        """The job as it stands."""
        return (await self._asend("GET", f"/jobs/{job_id}")).json()

    async def aresult(self, job_id: str) -> bytes:
        """The result blob of a finished job."""
        return (await self._asend("GET", f"/jobs/{job_id}/result")).content

    async def acancel(self, job_id: str) -> dict[str, Any]:
        """Cancel the job; returns it, now cancelled."""
        return (await self._asend("POST", f"/jobs/{job_id}/cancel")).json()

    async def aevents(self, job_id: str, last_event_id: str | None = None) -> AsyncIterator[Event]:
        """The job's events, as :meth:`events`, for a running event loop."""
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        timeout = httpx.Timeout(None, connect=CONNECT_TIMEOUT)
        try:
            async with self._async_http().stream(
                "GET", f"/jobs/{job_id}/events", headers=headers, timeout=timeout
            ) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise_for_response(response)
                decoder = _EventDecoder()
                async for line in response.aiter_lines():
                    event = decoder.feed(line)
                    if event is not None:
                        yield event
                event = decoder.feed("")
                if event is not None:
                    yield event
        except httpx.TransportError as exc:
            raise errors.PoolUnreachable(self.url, type(exc).__name__) from exc


def _loopback_for(url: str) -> loopback.Connections | None:
    """Lean connections for submitting to a plain-HTTP pool on this machine, if this is one."""
    parsed = httpx.URL(url)
    if parsed.scheme != "http" or parsed.host not in LOOPBACK or loopback is None:
        return None
    port = parsed.port or 80
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    return loopback.Connections(parsed.host, port, CONNECT_TIMEOUT, path=parsed.path.rstrip("/") + API,
                                host_header=f"{host}:{port}")


UPLOAD_CHUNK = 1 << 20


def _chunks(payload: bytes) -> Iterator[bytes]:
    """A large body in 1 MiB pieces: the HTTP stack re-slices what is left of a single
    buffer after every partial send, which turns one large upload quadratic."""
    view = memoryview(payload)
    for start in range(0, len(view), UPLOAD_CHUNK):
        yield view[start : start + UPLOAD_CHUNK]
