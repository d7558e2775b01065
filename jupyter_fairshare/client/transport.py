"""How a request reaches the pool: one small interface, and its httpx implementations.

The clients build a :class:`Request` (method, a path under ``/api/v1``, query, headers,
body, read timeout) and hand it to a transport, which sends it and gives back a
:class:`Response` (status, headers, whole body). Everything above the transport, building
the request and turning a failed answer into an error of :mod:`.errors`, is shared by
:class:`~jupyter_fairshare.client.Client` and :class:`~jupyter_fairshare.client.AsyncClient`,
so a submission has one code path whichever way its bytes travel.

A transport implements::

    class Transport:
        def send(self, request: Request) -> Response:
            # Send the request on a kept-alive connection and read the whole answer.
            # Any status is an answer: 4xx and 5xx are returned, not raised; the client
            # maps them. A failure to connect, a broken connection or a read that outlasts
            # request.timeout raises TransportError (TransportTimeout for the last), so the
            # client can say that no pool answers at its URL.
            ...

        def close(self) -> None:
            # Close the idle connections; the transport is not used afterwards.
            ...

:class:`AsyncTransport` is the same with ``async def send`` and ``async def aclose``.

Two transports implement it: :class:`HTTPXTransport` (and its async twin) for any URL, and
:class:`~jupyter_fairshare.client.loopback.LoopbackTransport` for plain ``http://`` on this
machine, where a cell's submit-and-wait is the whole round trip and httpx's own CPU time is
a tenth of it. Event streams are long-lived and off the short path, so only the httpx
transports stream (:meth:`HTTPXTransport.stream`).
"""

from __future__ import annotations

import asyncio
import json
import socket
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

__all__ = [
    "AsyncHTTPXTransport",
    "AsyncStreamed",
    "AsyncTransport",
    "HTTPXTransport",
    "Request",
    "Response",
    "Streamed",
    "Transport",
    "TransportError",
    "TransportTimeout",
]

# Long enough for a pool under load, short enough that a dead pool is reported promptly.
CONNECT_TIMEOUT = 5.0
# A pool under load answers within this; a job that runs longer is followed by its events.
READ_TIMEOUT = 60.0
# httpx writes a request's head and body in two sends; without TCP_NODELAY, Nagle's
# algorithm holds the body back until the head is acknowledged.
NO_DELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
UPLOAD_CHUNK = 1 << 20


class TransportError(Exception):
    """The request did not get an answer: no connection, or it broke; ``str()`` says how."""


class TransportTimeout(TransportError):
    """The pool did not answer (or send the next bytes of a stream) within the read timeout."""


@dataclass(frozen=True, slots=True)
class Request:
    """One request to the pool's API; ``path`` is below the API prefix (``/jobs/ID``)."""

    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    content: bytes = b""
    timeout: float | None = READ_TIMEOUT


@dataclass(frozen=True, slots=True)
class Response:
    """A whole answer: its status, lower-cased headers and body.

    A transport reads a whole body into a ``bytearray``: a result blob is unpickled over
    it with its arrays as views into it (no copy), and over mutable memory those arrays
    are writable, as the same values made in the kernel would be.
    """

    status: int
    headers: Mapping[str, str]
    content: bytes | bytearray

    def json(self) -> Any:
        """The body as JSON (raises ``ValueError`` if it is not)."""
        return json.loads(self.content)


@dataclass(frozen=True, slots=True)
class Streamed:
    """An answer whose body is read line by line; ``response`` holds the whole body only for a failure."""

    response: Response
    lines: Iterator[str]


@dataclass(frozen=True, slots=True)
class AsyncStreamed:
    """:class:`Streamed` for an event loop."""

    response: Response
    lines: AsyncIterator[str]


class Transport(ABC):
    """Sends a :class:`Request` and returns its :class:`Response` (see the module's docstring)."""

    @abstractmethod
    def send(self, request: Request) -> Response:
        """The pool's answer; raises :class:`TransportError` if there is none."""

    @abstractmethod
    def close(self) -> None:
        """Close the idle connections."""


class AsyncTransport(ABC):
    """:class:`Transport` for an event loop."""

    @abstractmethod
    async def send(self, request: Request) -> Response:
        """The pool's answer; raises :class:`TransportError` if there is none."""

    @abstractmethod
    async def aclose(self) -> None:
        """Close the idle connections."""


def _timeout(request: Request) -> httpx.Timeout:
    return httpx.Timeout(request.timeout, connect=CONNECT_TIMEOUT)


def _failure(exc: httpx.TransportError) -> TransportError:
    if isinstance(exc, httpx.TimeoutException):
        return TransportTimeout("it did not answer in time")
    return TransportError(type(exc).__name__)


def _headers(request: Request) -> dict[str, str]:
    headers = dict(request.headers)
    if request.content:
        headers["Content-Length"] = str(len(request.content))
    return headers


def _chunks(payload: bytes) -> Iterator[bytes]:
    """A large body in 1 MiB pieces: the HTTP stack re-slices what is left of a single
    buffer after every partial send, which turns one large upload quadratic."""
    view = memoryview(payload)
    for start in range(0, len(view), UPLOAD_CHUNK):
        yield bytes(view[start : start + UPLOAD_CHUNK])


async def _achunks(payload: bytes) -> AsyncIterator[bytes]:
    for chunk in _chunks(payload):
        yield chunk


def _response(answer: httpx.Response, content: bytes | bytearray) -> Response:
    return Response(answer.status_code, answer.headers, content)


def _whole(chunks: Iterator[bytes]) -> bytearray:
    body = bytearray()
    for chunk in chunks:
        body += chunk
    return body


async def _awhole(chunks: AsyncIterator[bytes]) -> bytearray:
    body = bytearray()
    async for chunk in chunks:
        body += chunk
    return body


class HTTPXTransport(Transport):
    """Requests over httpx to ``base_url`` (the pool's URL with the API prefix)."""

    def __init__(self, base_url: str) -> None:
        self._http = httpx.Client(base_url=base_url, transport=httpx.HTTPTransport(socket_options=NO_DELAY))

    def send(self, request: Request) -> Response:
        content = _chunks(request.content) if len(request.content) > UPLOAD_CHUNK else request.content
        try:
            with self._http.stream(request.method, request.path, params=request.params or None,
                                   headers=_headers(request), content=content, timeout=_timeout(request)) as answer:
                return _response(answer, _whole(answer.iter_bytes()))
        except httpx.TransportError as exc:
            raise _failure(exc) from exc

    @contextmanager
    def stream(self, request: Request) -> Iterator[Streamed]:
        """The answer with its body as lines as they arrive; ``request.timeout`` bounds each read."""
        try:
            with self._http.stream(request.method, request.path, params=request.params or None,
                                   headers=_headers(request), timeout=_timeout(request)) as answer:
                if answer.status_code >= 400:
                    yield Streamed(_response(answer, answer.read()), iter(()))
                else:
                    yield Streamed(_response(answer, b""), _lines(answer.iter_lines()))
        except httpx.TransportError as exc:
            raise _failure(exc) from exc

    def close(self) -> None:
        self._http.close()


def _lines(lines: Iterator[str]) -> Iterator[str]:
    try:
        yield from lines
    except httpx.TransportError as exc:
        raise _failure(exc) from exc


async def _alines(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    try:
        async for line in lines:
            yield line
    except httpx.TransportError as exc:
        raise _failure(exc) from exc


class AsyncHTTPXTransport(AsyncTransport):
    """:class:`HTTPXTransport` for an event loop."""

    def __init__(self, base_url: str) -> None:
        self._base_url = base_url
        self._http: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _client(self) -> httpx.AsyncClient:
        # An httpx.AsyncClient's connections belong to one event loop; a new loop gets a new one.
        loop = asyncio.get_running_loop()
        if self._http is None or self._loop is not loop:
            self._http = httpx.AsyncClient(base_url=self._base_url,
                                           transport=httpx.AsyncHTTPTransport(socket_options=NO_DELAY))
            self._loop = loop
        return self._http

    async def send(self, request: Request) -> Response:
        content = _achunks(request.content) if len(request.content) > UPLOAD_CHUNK else request.content
        try:
            async with self._client().stream(request.method, request.path, params=request.params or None,
                                             headers=_headers(request), content=content,
                                             timeout=_timeout(request)) as answer:
                return _response(answer, await _awhole(answer.aiter_bytes()))
        except httpx.TransportError as exc:
            raise _failure(exc) from exc

    @asynccontextmanager
    async def stream(self, request: Request) -> AsyncIterator[AsyncStreamed]:
        """The answer with its body as lines as they arrive; ``request.timeout`` bounds each read."""
        try:
            async with self._client().stream(request.method, request.path, params=request.params or None,
                                             headers=_headers(request), timeout=_timeout(request)) as answer:
                if answer.status_code >= 400:
                    yield AsyncStreamed(_response(answer, await answer.aread()), _alines(_nothing()))
                else:
                    yield AsyncStreamed(_response(answer, b""), _alines(answer.aiter_lines()))
        except httpx.TransportError as exc:
            raise _failure(exc) from exc

    async def aclose(self) -> None:
        if self._http is not None:
            http, self._http = self._http, None
            await http.aclose()


async def _nothing() -> AsyncIterator[str]:
    return
    yield  # makes this an async generator that yields nothing
