"""A lean HTTP/1.1 exchange with a pool on this machine, for the short path of a cell.

A notebook cell sent to a local pool is one request that submits and waits. httpx spends
about 0.6 ms of the kernel's CPU on such a request (URL merging, cookie and redirect
handling, its generic transport), which is a tenth of an empty cell's round trip. Here the
request is written in one send on a kept-alive socket and the answer is parsed by
httptools, the C parser uvicorn uses: 0.07 ms. Only plain ``http://`` on loopback takes
this path (no proxy, no TLS applies there); everything else goes through httpx.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass

import httptools


class Closed(ConnectionError):
    """The pool closed a kept-alive connection before answering (it may be idle-timed out)."""


@dataclass
class Answer:
    """A response: its status, lower-cased headers and whole body."""

    status: int
    headers: dict[str, str]
    body: bytes


class _Reader:
    """httptools callbacks gathering one response."""

    def __init__(self) -> None:
        self.headers: dict[str, str] = {}
        self.body: list[bytes] = []
        self.done = False
        self.keep = False
        self.parser = httptools.HttpResponseParser(self)

    def on_headers_complete(self) -> None:
        self.keep = self.parser.should_keep_alive()  # known only here: llhttp resets it at the end

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.done = True


class Connections:
    """Kept-alive sockets to one ``host:port``; each exchange borrows one for its duration,
    so threads that submit at the same time each get their own."""

    def __init__(self, host: str, port: int, connect_timeout: float, path: str, host_header: str) -> None:
        self.host, self.port = host, port
        self.connect_timeout = connect_timeout
        self.path = path  # the API's path prefix on this server
        self.host_header = host_header
        self._idle: list[socket.socket] = []
        self._lock = threading.Lock()

    def exchange(self, head: bytes, body: bytes, timeout: float) -> Answer:
        """Send one request (``head`` ends with its blank line) and read its answer.

        A kept-alive socket the pool has closed meanwhile fails before any answer; the
        request is then sent once more on a fresh socket (callers only send requests that
        are safe to repeat). Anything else leaves the socket closed and raises ``OSError``.
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
            except Closed:
                sock.close()
                if fresh:
                    raise
                sock, fresh = None, True
                continue
            except BaseException:  # a timeout, an interrupt: the answer may still come, so the socket is spoilt
                sock.close()
                raise
            if keep:
                with self._lock:
                    self._idle.append(sock)
            else:
                sock.close()
            return answer

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for sock in idle:
            sock.close()

    def _borrow(self) -> socket.socket | None:
        with self._lock:
            return self._idle.pop() if self._idle else None


def _round_trip(sock: socket.socket, head: bytes, body: bytes) -> tuple[Answer, bool]:
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
    answer = Answer(parser.get_status_code(), reader.headers, b"".join(reader.body))
    return answer, reader.keep
