"""A job's live messages (output and progress), batched on their way from the job thread.

On a Dask worker they go out on the connection of the job's ``fairshare_run`` call
(``plugin.py``), ahead of its report. Output is batched: a chunk goes out at once if nothing went out in the
last 50 ms, otherwise with the next batch, so a chatty job costs at most 20 events a second
per stream while a quiet one still shows its output within a few milliseconds (the short
grace lets the pieces of one ``print`` — text, then newline — travel as one message).
"""

from __future__ import annotations

import codecs
import time
from collections.abc import Callable
from typing import Any

from jupyter_fairshare.protocol import EventType

Emit = Callable[[dict[str, Any]], None]

INTERVAL = 0.05
GRACE = 0.005


class EventBatcher:
    """Collects one job attempt's output and progress and emits them in batches."""

    def __init__(self, emit: Emit, interval: float = INTERVAL) -> None:
        self._emit = emit
        self._interval = interval
        self._decoders = {s: codecs.getincrementaldecoder("utf-8")("replace") for s in ("stdout", "stderr")}
        self._chunks: list[list[str]] = []
        self._progress: tuple[int, int] | None = None
        self._last = 0.0
        self._pending_since: float | None = None

    def output(self, stream: str, data: bytes, final: bool = False) -> None:
        text = self._decoders[stream].decode(data, final)
        if not text:
            return
        self._mark_pending()
        if self._chunks and self._chunks[-1][0] == stream:
            self._chunks[-1][1] += text
        else:
            self._chunks.append([stream, text])
        self.tick()

    def progress(self, done: int, total: int) -> None:
        self._progress = (done, total)
        self._mark_pending()
        self.tick()

    def _mark_pending(self) -> None:
        if self._pending_since is None:
            self._pending_since = time.monotonic()

    def due(self) -> float:
        """Seconds until pending events should go out (a large number if none are pending)."""
        if self._pending_since is None:
            return 3600.0
        at = max(self._last + self._interval, self._pending_since + GRACE)
        return max(0.0, at - time.monotonic())

    def tick(self) -> None:
        if self.due() == 0.0:
            self.flush()

    def flush(self) -> None:
        """Emit everything pending now, output before progress."""
        for stream, text in self._chunks:
            self._emit({"type": EventType.OUTPUT.value, "stream": stream, "text": text})
        self._chunks = []
        if self._progress is not None:
            done, total = self._progress
            self._emit({"type": EventType.PROGRESS.value, "done": done, "total": total})
            self._progress = None
        self._last = time.monotonic()
        self._pending_since = None

    def close(self) -> None:
        """Emit what is left, including a trailing partial UTF-8 sequence."""
        for stream in self._decoders:
            self.output(stream, b"", final=True)
        self.flush()
