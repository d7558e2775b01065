"""A :class:`Job`: a job on the pool used like a future, and followed through its events.

The job knows what the pool last told it (:attr:`Job.info`), folds each event it follows into
that with :func:`.folding.fold`, and turns the result blob back into a value, or into the error
that says why there is none. Following a job live (:meth:`Job.follow`) is here too; the views it
drives (:mod:`.widgets`) only draw.
"""

from __future__ import annotations

import base64
import contextlib
import queue
import sys
import threading
import time
import warnings
from collections.abc import Callable, Generator, Iterator
from typing import Any, Protocol

from .. import wire
from ..client import AsyncClient, Client, Event, errors, transport
from ..protocol import FINAL_STATES, EventType, JobState, StopReason
from . import widgets
from .folding import fold
from .outcomes import load_outcome, reissue, remote_exception, unwrap

__all__ = ["Job", "reissue", "remote_exception", "unwrap"]


class HasClient(Protocol):
    """What a job needs of its :class:`~.api.Pool`: the connection to ask it through.

    Named by what it is used for, so this module and :mod:`.api` do not import each other.
    """

    client: Client


class Job:
    """A job on the pool, used like a future: ``result()``, ``cancel()``, ``done()``, ``await job``."""

    def __init__(self, pool: HasClient, info: dict[str, Any]) -> None:
        self.pool = pool
        self.id: str = info["id"]
        self.info = dict(info)
        self._last_event: str | None = None
        self._outcome: wire.Outcome | None = None
        self._output: list[dict[str, Any]] = []  # the output chunks seen on the job's stream, in order
        self._from_start = False  # whether that stream was read from the job's first event
        self._shown = 0  # how many of the chunks result() has shown

    def __repr__(self) -> str:
        state = self.info.get("state")
        where = ""
        if state == JobState.QUEUED and self.info.get("position") is not None:
            where = f", {self.info['position']} of {self.info.get('queue_length')}"
        return f"<fairshare.Job {self.id} {self.info.get('name') or ''!s} {state}{where}>".replace("  ", " ")

    # -- state -----------------------------------------------------------------------

    def refresh(self) -> dict[str, Any]:
        """Fetch the job as it stands, unless it has already ended."""
        if not self.done():
            self.info = self.pool.client.job(self.id)
        return self.info

    def done(self) -> bool:
        """True once the job is done, failed or cancelled (as last seen; no request)."""
        return self.info.get("state") in FINAL_STATES

    @property
    def status(self) -> str:
        """queued, running, done, failed or cancelled."""
        return str(self.refresh()["state"])

    @property
    def position(self) -> int | None:
        """Place in the queue (1 is next), or None when not queued."""
        return self.refresh().get("position")

    @property
    def cost(self) -> float:
        """Credits spent so far (the bill's total once ended)."""
        return float(self.refresh().get("cost", 0.0))

    @property
    def bill(self) -> dict[str, Any] | None:
        """The itemised bill, once the job has ended."""
        return self.refresh().get("bill")

    @property
    def site(self) -> str | None:
        """The site the job runs or ran at."""
        return self.refresh().get("site")

    @property
    def submitted_at(self) -> float:
        """When the pool accepted the job (Unix seconds)."""
        return float(self.info["submitted_at"])

    @property
    def started_at(self) -> float | None:
        """When the job started running (Unix seconds)."""
        return self.refresh().get("started_at")

    @property
    def finished_at(self) -> float | None:
        """When the job ended (Unix seconds)."""
        return self.refresh().get("finished_at")

    def apply(self, event: Event) -> None:
        """Fold one event into :attr:`info`, so views need no extra request."""
        self._last_event = event.id or self._last_event
        self.info = fold(self.info, event.type, event.data, time.time())

    def _seen(self, event: Event) -> None:
        """Fold an event in and warn of a lost worker: the one thing a follower must hear."""
        self.apply(event)
        if event.type == EventType.OUTPUT:
            self._output.append(event.data)
        if event.type == EventType.REQUEUED:
            warnings.warn(_worker_lost(self.id, event.data.get("reason")), stacklevel=3)

    # -- following -------------------------------------------------------------------

    def events(self, timeout: float | None = None) -> Iterator[Event]:
        """Follow the job's events until its final one, folding each into :attr:`info`.

        A lost worker is reported as a :class:`~jupyter_fairshare.client.errors.WorkerLost` warning;
        the job goes on.
        """
        if self.done() and self._last_event is not None:
            return
        known_final = self.done()
        self._from_start = self._from_start or self._last_event is None
        for event in self.pool.client.events(self.id, last_event_id=self._last_event, timeout=timeout):
            self._seen(event)
            yield event
        if self.done() and not known_final and self.info.get("finished_at") is None:
            # A final event from an older pool lacks the times: one request fills them in.
            self.info = self.pool.client.job(self.id)

    def follow(self, on_output: Callable[[Event], None] | None = None) -> None:
        """Follow the job to its end, showing it live; ``on_output`` gets each ``output`` event.

        A job that ended within the short-path wait gets no view: a panel flashing past for a
        5 ms cell is noise. An interrupt (Ctrl-C, the notebook's stop button) cancels the job
        on the pool and re-raises, so a user never leaves a job running unseen.
        """
        if self.done() and on_output is None:
            return
        inline = self.info.get("inline") if self.done() else None
        if inline is not None and on_output is not None:  # a short job's output came with its answer
            for chunk in inline.get("output", []):
                on_output(Event(None, EventType.OUTPUT.value, {**chunk, "job": self.id}))
            return
        view = None if self.done() else widgets.view_for(self)
        try:
            # A stream the pool closes before the final event is reopened where it stopped.
            first = True
            while first or not self.done():
                first = False
                for event in self.events():
                    if event.type == EventType.OUTPUT and on_output is not None:
                        on_output(event)
                    elif view is not None:
                        view.update(self.info)
        except KeyboardInterrupt:
            self.cancel()
            print(f"[fairshare] Interrupted: job {self.id} is cancelled.", file=sys.stderr)
            raise
        if view is not None:
            view.close(self.info)

    def wait(self, timeout: float | None = None) -> Job:
        """Block until the job ends; ``timeout`` raises :class:`TimeoutError` when it passes.

        With a timeout the stream is read in a thread and the wait is on a queue: the pool's
        stream sends a keep-alive comment every 15 s of silence, which resets a socket's read
        timeout without ever being an event, so a read timeout alone cannot bound the wait.
        """
        if timeout is None:
            while not self.done():
                for _ in self.events():
                    pass
            return self
        deadline = time.monotonic() + timeout
        while not self.done():
            news: queue.Queue[Event | BaseException | None] = queue.Queue()
            stop = threading.Event()
            self._from_start = self._from_start or self._last_event is None
            threading.Thread(target=self._pump, args=(news, stop), daemon=True,
                             name=f"fairshare-wait-{self.id}").start()
            try:
                while (item := self._next(news, deadline, timeout)) is not None:
                    if isinstance(item, BaseException):
                        raise item
                    self._seen(item)
            finally:
                stop.set()
        if self.info.get("finished_at") is None:  # a final event from an older pool lacks the times
            self.info = self.pool.client.job(self.id)
        return self

    def _pump(self, news: queue.Queue[Event | BaseException | None], stop: threading.Event) -> None:
        """Put the job's events on ``news`` until its final one, then None; a failure goes on it too."""
        try:
            for event in self.pool.client.events(self.id, last_event_id=self._last_event):
                if stop.is_set():
                    return
                news.put(event)
        except BaseException as exc:  # handed to the waiting thread, which raises it
            news.put(exc)
        news.put(None)

    def _next(self, news: queue.Queue[Event | BaseException | None], deadline: float,
              timeout: float) -> Event | BaseException | None:
        remaining = deadline - time.monotonic()
        try:
            if remaining <= 0:
                return news.get_nowait()
            return news.get(timeout=remaining)
        except queue.Empty:
            raise TimeoutError(f"Job {self.id} is still {self.info.get('state')} after {timeout} s; "
                               "it goes on on the pool, so wait for it again later.") from None

    # -- the result ------------------------------------------------------------------

    def outcome(self, timeout: float | None = None) -> wire.Outcome:
        """Wait, then fetch and unpack the result; raises if the job ended without one."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self.wait(timeout)
        if self._outcome is None:
            _raise_for_final(self.id, self.info)
            inline = (self.info.get("inline") or {}).get("result")
            if inline is not None:  # a short job's result came with its answer or its final event
                self._outcome = load_outcome(self.id, bytearray(base64.b64decode(inline)))
            else:
                try:
                    left = transport.READ_TIMEOUT if deadline is None else max(deadline - time.monotonic(), 0.01)
                    blob = self.pool.client.result(self.id, timeout=left)
                except errors.BadRequest as exc:
                    # Failed with no result blob: killed for memory or time, or the worker gave up.
                    raise _failed(self.id, self.info) from exc
                self._outcome = load_outcome(self.id, blob)
        return self._outcome

    def result(self, timeout: float | None = None) -> Any:
        """The return value; the remote exception (remote traceback as its cause) if it raised.

        What the job printed is shown first on this process's stdout and stderr, once, as a
        cell's prints are: a function sent to the pool should tell its caller what it tells
        when run here.
        """
        outcome = self.outcome(timeout)
        self._show_output()
        reissue(outcome)
        return unwrap(outcome, self.id)

    def _show_output(self) -> None:
        if not self._from_start and "output" not in (self.info.get("inline") or {}):
            # The job was seen ending without its stream: read its output once. A pool that no
            # longer keeps the job's events has no output to show, which must not cost the result.
            with contextlib.suppress(errors.FairshareError):
                self._output = [e.data for e in self.pool.client.events(self.id) if e.type == EventType.OUTPUT]
            self._from_start = True
        self._print_new()

    def _print_new(self) -> None:
        inline = (self.info.get("inline") or {}).get("output")
        chunks = inline if inline is not None else self._output
        for chunk in chunks[self._shown:]:
            stream = sys.stderr if chunk.get("stream") == "stderr" else sys.stdout
            stream.write(chunk.get("text", ""))
            stream.flush()
        self._shown = len(chunks)

    def cancel(self) -> bool:
        """Ask the pool to cancel the job; True if it ended cancelled."""
        if not self.done():
            self.info = self.pool.client.cancel(self.id)
        return bool(self.info.get("state") == JobState.CANCELLED)

    def __await__(self) -> Generator[Any, None, Any]:
        return self._aresult().__await__()

    async def _aresult(self) -> Any:
        # A client of its own for each await: an async connection belongs to the loop that
        # opened it, and the sync client's may be in use by a blocking cell meanwhile.
        async with AsyncClient(self.pool.client.url, self.pool.client.token) as client:
            if not self.done():
                self._from_start = self._from_start or self._last_event is None
                async for event in client.events(self.id, last_event_id=self._last_event):
                    self._seen(event)
                if self.info.get("finished_at") is None:  # a final event from an older pool lacks the times
                    self.info = await client.job(self.id)
            if self._outcome is None:
                _raise_for_final(self.id, self.info)
                inline = (self.info.get("inline") or {}).get("result")
                try:
                    blob = bytearray(base64.b64decode(inline)) if inline is not None else await client.result(self.id)
                except errors.BadRequest as exc:
                    raise _failed(self.id, self.info) from exc
                self._outcome = load_outcome(self.id, blob)
            if not self._from_start and "output" not in (self.info.get("inline") or {}):
                with contextlib.suppress(errors.FairshareError):
                    self._output = [e.data async for e in client.events(self.id) if e.type == EventType.OUTPUT]
                self._from_start = True
        self._print_new()
        reissue(self._outcome)
        return unwrap(self._outcome, self.id)


def _worker_lost(job_id: str, reason: str | None) -> errors.WorkerLost:
    why = f" ({reason})" if reason else ""
    return errors.WorkerLost(
        f"Job {job_id} lost its worker{why}; it is back in the queue and the lost run is not billed."
    )


def _raise_for_final(job_id: str, info: dict[str, Any]) -> None:
    """Raise for a job that ended with no result worth fetching (cancelled, capped)."""
    state, reason = info.get("state"), info.get("reason")
    if state == JobState.CANCELLED:
        raise errors.JobCancelled(
            f"Job {job_id} was cancelled before it finished; submit it again to run it.", job_id
        )
    bill = info.get("bill") or {}
    if state == JobState.FAILED and (reason == StopReason.MAX_COST or bill.get("capped")):
        raise errors.MaxCostReached(
            info.get("error") or f"Job {job_id} reached its max cost and was stopped; raise --max-cost.", job_id
        )


def _failed(job_id: str, info: dict[str, Any]) -> errors.JobFailed:
    return errors.JobFailed(
        info.get("error") or f"Job {job_id} failed ({info.get('reason') or 'no reason given'}) without a result.",
        job_id,
    )
