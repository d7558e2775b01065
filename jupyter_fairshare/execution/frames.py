"""Length-prefixed frames on the pipes between a Dask worker and its job processes.

A frame is one type byte, a 4-byte big-endian JSON length, an 8-byte big-endian body
length, the JSON and the body. The JSON carries the small control fields (limits, progress,
measurements); the body carries the opaque payload or result blob untouched, so neither
side re-encodes a large blob.
"""

from __future__ import annotations

import json
import os
import struct
from typing import Any

_HEAD = struct.Struct(">cIQ")

READY = b"r"  # job process -> worker: forked and waiting; {"pid"}
JOB = b"j"  # worker -> job process: {"job", "attempt", "limits", "keep"} + payload blob
PROGRESS = b"p"  # job process -> worker: {"done", "total"}
OUTCOME = b"o"  # job process -> worker: {"ok", "error", "memory_error", "cpu_seconds", "peak_memory", "kept"} + blob


def encode(kind: bytes, meta: dict[str, Any], body: bytes | memoryview = b"") -> list[bytes | memoryview]:
    """The pieces of one frame, to be written in order (the body is not copied)."""
    encoded = json.dumps(meta, separators=(",", ":")).encode()
    return [_HEAD.pack(kind, len(encoded), len(body)) + encoded, body]


def write(fd: int, kind: bytes, meta: dict[str, Any], body: bytes | memoryview = b"") -> None:
    """Write a whole frame to a blocking file descriptor."""
    for piece in encode(kind, meta, body):
        view = memoryview(piece).cast("B")
        while view.nbytes:
            view = view[os.write(fd, view) :]


def read_exactly(fd: int, n: int) -> bytearray:
    """Read ``n`` bytes from a blocking descriptor; EOF before that is an error."""
    out = bytearray(n)
    view = memoryview(out)
    got = 0
    while got < n:
        k = os.readv(fd, [view[got:]])
        if k == 0:
            raise EOFError("The other end of a fairshare job pipe closed mid-frame.")
        got += k
    return out


def read(fd: int) -> tuple[bytes, dict[str, Any], bytearray]:
    """Read one whole frame from a blocking descriptor: (kind, meta, body)."""
    kind, n_meta, n_body = _HEAD.unpack(read_exactly(fd, _HEAD.size))
    meta = json.loads(read_exactly(fd, n_meta)) if n_meta else {}
    return kind, meta, read_exactly(fd, n_body)


class Parser:
    """Splits frames out of bytes that arrive in arbitrary chunks (non-blocking reads)."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[bytes, dict[str, Any], bytes]]:
        """Add bytes just read; the frames they complete, in order."""
        self._buf += data
        frames = []
        while len(self._buf) >= _HEAD.size:
            kind, n_meta, n_body = _HEAD.unpack_from(self._buf)
            end = _HEAD.size + n_meta + n_body
            if len(self._buf) < end:
                break
            meta = json.loads(self._buf[_HEAD.size : _HEAD.size + n_meta]) if n_meta else {}
            frames.append((kind, meta, bytes(self._buf[_HEAD.size + n_meta : end])))
            del self._buf[:end]
        return frames
