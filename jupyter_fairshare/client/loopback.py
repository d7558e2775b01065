"""A lean HTTP/1.1 exchange with a pool on this machine, for the short path of a cell.

A notebook cell sent to a local pool is one request that submits and waits. httpx spends
about 0.6 ms of the kernel's CPU on such a request (URL merging, cookie and redirect
handling, its generic transport), which is a tenth of an empty cell's round trip. Here the
request is written in one send on a kept-alive socket and the answer is parsed by
httptools, the C parser uvicorn uses: 0.07 ms. Only plain ``http://`` on loopback takes
this path (no proxy, no TLS applies there); everything else goes through httpx.

:class:`LoopbackTransport` speaks the :class:`~.transport.Transport` interface, so the
clients build the same request whichever transport carries it.
"""

from __future__ import annotations

import socket
import threading
from urllib.parse import urlencode, urlsplit

import httptools

from . import errors
from .base import LOOPBACK
from .transport import CONNECT_TIMEOUT, Request, Response, Transport, TransportError, TransportTimeout

__all__ = ["LOOPBACK", "LoopbackTransport"]


class Closed(ConnectionError):
    """The pool closed a kept-alive connection before answering (it may be idle-timed out)."""


class _Reader:
    """httptools callbacks gathering one response."""

    def __init__(self) -> None:
        self.headers: dict[str, str] = {}
        self.body = bytearray()  # mutable, so a result unpickled over it is writable (see Response)
        self.done = False
        self.keep = False
        self.parser = httptools.HttpResponseParser(self)

    def on_headers_complete(self) -> None:
        self.keep = self.parser.should_keep_alive()  # known only here: llhttp resets it at the end

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.done = True


class LoopbackTransport(Transport):
    """Kept-alive sockets to one ``host:port``; each exchange borrows one for its duration,
    so threads that submit at the same time each get their own."""

    def __init__(self, host: str, port: int, path: str, host_header: str,
                 connect_timeout: float = CONNECT_TIMEOUT) -> None:
        self.host, self.port = host, port
        self.connect_timeout = connect_timeout
        self.path = path  # the API's path prefix on this server
        self.host_header = host_header
        self._idle: list[socket.socket] = []
        self._lock = threading.Lock()

    @classmethod
    def for_url(cls, base_url: str) -> LoopbackTransport | None:
        """The transport for ``base_url`` (the pool's URL with the API prefix) if it is plain
        HTTP on this machine, else None."""
        parts = urlsplit(base_url)
        host = parts.hostname
        if parts.scheme != "http" or host not in LOOPBACK:
            return None
        port = parts.port or 80
        shown = f"[{host}]" if ":" in host else host
        return cls(host, port, path=parts.path.rstrip("/"), host_header=f"{shown}:{port}")

    def send(self, request: Request) -> Response:
        """The request in one send, its answer parsed by httptools (see the module's docstring)."""
        target = self.path + request.path
        if request.params:
            target += "?" + urlencode(request.params)
        fields = request.headers
        if any("\r" in v or "\n" in v for v in fields.values()):
            raise errors.BadRequest("The token or the job's metadata holds a line break; remove it and submit again.")
        lines = [f"{request.method} {target} HTTP/1.1", f"Host: {self.host_header}",
                 f"Content-Length: {len(request.content)}", *(f"{k}: {v}" for k, v in fields.items()), "", ""]
        try:
            return self.exchange("\r\n".join(lines).encode("latin-1"), request.content, request.timeout)
        except TimeoutError as exc:
            raise TransportTimeout("it did not answer in time") from exc
        except OSError as exc:
            raise TransportError(type(exc).__name__) from exc

    def exchange(self, head: bytes, body: bytes, timeout: float | None) -> Response:
        """Send one request (``head`` ends with its blank line) and read its answer.

        A kept-alive socket the pool closed while it sat idle can fail anywhere: at ``recv``
        (EOF), or already at ``sendall`` of a body larger than the socket's buffer
        (``BrokenPipeError``, ``ConnectionResetError``). Any such failure on a reused socket
        sends the request once more on a fresh one (callers only send requests that are safe
        to repeat: a submission carries its client-chosen job id). A timeout is not retried:
        the pool may be working on the request, and a second wait would double the caller's.
        Anything else leaves the socket closed and raises ``OSError``.
        """
        sock = self._borrow()
        fresh = sock is None
        while True:
            if sock is None:
                sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                sock.settimeout(timeout)
                answer, keep = _round_trip(sock, head, body)
            except BaseException as exc:  # the answer may still come, so the socket is spoilt
                sock.close()
                if fresh or not isinstance(exc, OSError) or isinstance(exc, TimeoutError):
                    raise
                sock, fresh = None, True
                continue
            if keep:
                with self._lock:
                    self._idle.append(sock)
            else:
                sock.close()
            return answer

    def close(self) -> None:
        """Close the idle sockets."""
        with self._lock:
            idle, self._idle = self._idle, []
        for sock in idle:
            sock.close()

    def _borrow(self) -> socket.socket | None:
        with self._lock:
            return self._idle.pop() if self._idle else None


def _round_trip(sock: socket.socket, head: bytes, body: bytes) -> tuple[Response, bool]:
    sock.sendall(head + body if len(body) < 65536 else head)
    if len(body) >= 65536:
        sock.sendall(body)
    reader = _Reader()
    parser = reader.parser
    received = False
    while not reader.done:
        data = sock.recv(1 << 16)
        if not data:
            if received:
                raise ConnectionError("The pool closed the connection in the middle of its answer.")
            raise Closed()
        received = True
        parser.feed_data(data)
    answer = Response(parser.get_status_code(), reader.headers, reader.body)
    return answer, reader.keep
