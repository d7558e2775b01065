"""The Python API: a :class:`Pool` to submit work to, and the :class:`Job` futures it returns.

``Pool`` turns a function call, a cell or a Dask graph into one payload and one request;
``Job`` follows the job through the pool's event stream and turns the result blob back
into a value, or into the error that says why there is none.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import socket
import time
import uuid
import warnings
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import Any

from ..client import errors
from .. import spoolfiles, wire
from ..client import Client, Event
from ..client.settings import resolve

__all__ = ["Job", "Pool", "connect", "parse_duration"]

# Payloads above this size are checked against the pool's published limit before sending,
# so a too-large payload fails at once instead of after an upload of gigabytes.
_CHECK_LIMIT_ABOVE = 1 << 20
_SPOOL_ABOVE = 8 << 20  # payloads this large are written into a local pool's spool, not uploaded

_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([smhd]?)\s*$")
_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: str | float | int | None) -> float | None:
    """Seconds in ``"90s"``, ``"30m"``, ``"2h"``, ``"1d"`` or a plain number of seconds."""
    if value is None or isinstance(value, (int, float)):
        return None if value is None else float(value)
    match = _DURATION.match(value)
    if match is None:
        raise errors.BadRequest(
            f"The duration {value!r} is not understood; write it like 90s, 30m, 2h or 1d."
        )
    return float(match.group(1)) * _UNITS[match.group(2)]


def connect(url: str | None = None, token: str | None = None) -> Pool:
    """Connect to a pool: the arguments, else FAIRSHARE_URL/TOKEN, the config file or the embedded pool."""
    settings = resolve(url, token)
    return Pool(settings.url, settings.token)


class Pool:
    """A fair-share pool reached over HTTP, holding one persistent connection."""

    def __init__(self, url: str, token: str | None = None, *, client: Client | None = None) -> None:
        self.client = client or Client(url, token)
        self.url = self.client.url
        self._payload_limit: int | None = None
        self._spool: dict | None = None

    def __repr__(self) -> str:
        return f"<fairshare.Pool {self.url}>"

    def close(self) -> None:
        """Close the pool's connections."""
        self.client.close()

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- submitting -----------------------------------------------------------------

    def submit(
        self,
        func: Callable[..., Any],
        *args: Any,
        cpus: float = 1,
        memory: int | str = "2GB",
        gpus: int = 0,
        max_cost: float | None = None,
        deadline: str | float | None = None,
        site: str | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> Job:
        """Run ``func(*args, **kwargs)`` on the pool; returns at once with the :class:`Job`."""
        task = wire.CallTask(func, tuple(args), dict(kwargs))
        return self.submit_task(
            task,
            name=name or getattr(func, "__qualname__", type(func).__name__),
            cpus=cpus,
            memory=memory,
            gpus=gpus,
            max_cost=max_cost,
            deadline=deadline,
            site=site,
        )

    def map(self, func: Callable[..., Any], *iterables: Iterable[Any], **resources: Any) -> list[Job]:
        """Submit ``func`` once per item (zipped over ``iterables``); one job each."""
        return [self.submit(func, *items, **resources) for items in zip(*iterables)]

    def submit_task(
        self,
        task: wire.CallTask | wire.CellTask | wire.GraphTask,
        *,
        name: str = "",
        cpus: float = 1,
        memory: int | str = "2GB",
        gpus: int = 0,
        max_cost: float | None = None,
        deadline: str | float | None = None,
        site: str | None = None,
        wait: float | None = None,
        notebook: str | None = None,
        cell: str | None = None,
    ) -> Job:
        """Serialise a task and submit it; ``wait`` holds the request that long for a short job.

        The id is chosen here, so an interrupt that lands while the submission is in flight
        can still cancel the job, and a retried submission cannot run it twice.
        """
        kind = {wire.CallTask: "call", wire.CellTask: "cell", wire.GraphTask: "graph"}[type(task)]
        head, pieces = wire.frames(task)
        size = wire.size(pieces)
        self._check_size(size)
        meta = {
            "kind": kind,
            "name": name[:200],
            "cpus": cpus,
            "memory": memory,
            "gpus": gpus,
            "max_cost": max_cost,
            "deadline": parse_duration(deadline),
            "site": site,
            "versions": head.get("versions", {}),
            "id": uuid.uuid4().hex,
            "notebook": notebook,
            "cell": cell,
        }
        try:
            spooled = self._spool_locally(pieces, size)
            if spooled is not None:
                return Job(self, self.client.submit(b"", meta, wait=wait, payload_file=spooled))
            return Job(self, self.client.submit(b"".join(pieces), meta, wait=wait))
        except KeyboardInterrupt:
            with contextlib.suppress(errors.FairshareError):
                self.client.cancel(meta["id"])
            raise

    def _spool_locally(self, pieces: list, size: int) -> str | None:
        """Write a large payload straight into the pool's spool when the pool runs on this
        machine, instead of uploading it: one copy of the data instead of three. Returns the
        file's name, or None where that cannot be done (the payload is then uploaded)."""
        if size <= _SPOOL_ABOVE or not self.client.on_this_host():
            return None
        if self._spool is None:
            try:
                self._spool = self.client.spool()
            except errors.FairshareError:
                self._spool = {}
        directory = self._spool.get("path")
        if not directory or self._spool.get("host") != socket.gethostname() or not os.access(directory, os.W_OK):
            return None
        name = f"{uuid.uuid4().hex}.part"
        with spoolfiles.new_file(os.path.join(directory, name), size) as handle:
            for piece in pieces:
                handle.write(piece)
        return name

    def _check_size(self, size: int) -> None:
        if size <= _CHECK_LIMIT_ABOVE:
            return
        if self._payload_limit is None:
            limit = self.client.public("sites").get("payload_limit")
            self._payload_limit = int(limit) if isinstance(limit, (int, float)) else 0
        if 0 < self._payload_limit < size:
            raise errors.PayloadTooLarge(
                f"The payload is {size} bytes but this pool accepts at most {self._payload_limit} bytes; "
                "send less data, e.g. load it on the worker.",
                limit=self._payload_limit,
                size=size,
            )

    # -- looking -------------------------------------------------------------------

    def job(self, job_id: str) -> Job:
        """The job with this id (of this account)."""
        return Job(self, self.client.job(job_id))

    def jobs(self, state: str | None = None, limit: int | None = None) -> list[Job]:
        """This account's jobs, newest first."""
        return [Job(self, info) for info in self.client.jobs(state=state, limit=limit)]

    def account(self) -> dict[str, Any]:
        """Tier, shares, credits, held, balance and usage of this account."""
        return self.client.account()

    def prices(self) -> Any:
        """Each site's published prices with their cost breakdown."""
        return self.client.public("prices")

    # -- Dask ------------------------------------------------------------------------

    def get(self, dsk: Any, keys: Any, **kwargs: Any) -> Any:
        """A Dask scheduler ``get``: the whole graph runs as one job; see :mod:`.daskget`."""
        from .daskget import graph_get

        return graph_get(self, dsk, keys, **kwargs)

    def compute(self, *collections: Any, **kwargs: Any) -> Any:
        """Compute Dask collections as one job; one collection gives its value, several a tuple."""
        import dask

        results = dask.compute(*collections, scheduler=self.get, **kwargs)
        return results[0] if len(collections) == 1 else results

    @contextlib.contextmanager
    def as_default(self) -> Generator[Pool, None, None]:
        """Within the block, every Dask ``compute`` runs on this pool."""
        import dask

        with dask.config.set(scheduler=self.get):
            yield self


_FIELDS_BY_EVENT = {
    wire.QUEUED: ("position", "queue_length", "expected_start"),
    wire.STARTED: ("site", "attempt"),
    wire.COST: ("cost", "max_cost"),
}


class Job:
    """A job on the pool, used like a future: ``result()``, ``cancel()``, ``done()``, ``await job``."""

    def __init__(self, pool: Pool, info: dict[str, Any]) -> None:
        self.pool = pool
        self.id: str = info["id"]
        self.info = dict(info)
        self._last_event: str | None = None
        self._outcome: wire.Outcome | None = None

    def __repr__(self) -> str:
        state = self.info.get("state")
        where = ""
        if state == "queued" and self.info.get("position") is not None:
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
        return self.info.get("state") in wire.FINAL_STATES

    @property
    def status(self) -> str:
        """queued, running, done, failed or cancelled."""
        return self.refresh()["state"]

    @property
    def position(self) -> int | None:
        """Place in the queue (1 is next), or None when not queued."""
        return self.refresh().get("position")

    @property
    def cost(self) -> float:
        """Credits spent so far (the bill's total once ended)."""
        return self.refresh().get("cost", 0.0)

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
        return self.info["submitted_at"]

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
        data = event.data
        self._last_event = event.id or self._last_event
        if event.type in _FIELDS_BY_EVENT:
            self.info.update({k: data[k] for k in _FIELDS_BY_EVENT[event.type] if k in data})
        if event.type == wire.QUEUED:
            self.info["state"] = "queued"
        elif event.type == wire.STARTED:
            self.info.update(state="running", position=None, started_at=data.get("started_at", time.time()))
        elif event.type == wire.PROGRESS:
            self.info["progress"] = {"done": data.get("done", 0), "total": data.get("total", 0)}
        elif event.type == wire.REQUEUED:
            self.info.update(state="queued", site=None, started_at=None)
        elif event.type in wire.FINAL_STATES:
            self.info.update({k: data.get(k) for k in ("reason", "error", "bill")}, state=data.get("state", event.type))
            self.info.update({k: data[k] for k in ("finished_at", "cost", "inline") if k in data})

    # -- waiting ---------------------------------------------------------------------

    def events(self, timeout: float | None = None) -> Iterator[Event]:
        """Follow the job's events until its final one, folding each into :attr:`info`.

        A lost worker is reported as a :class:`~jupyter_fairshare.client.errors.WorkerLost` warning;
        the job goes on.
        """
        if self.done() and self._last_event is not None:
            return
        known_final = self.done()
        for event in self.pool.client.events(self.id, last_event_id=self._last_event, timeout=timeout):
            self.apply(event)
            if event.type == wire.REQUEUED:
                warnings.warn(_worker_lost(self.id, event.data.get("reason")), stacklevel=2)
            yield event
        if self.done() and not known_final and self.info.get("finished_at") is None:
            # A final event from an older pool lacks the times: one request fills them in.
            self.info = self.pool.client.job(self.id)

    def wait(self, timeout: float | None = None) -> Job:
        """Block until the job ends; ``timeout`` raises :class:`TimeoutError`."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.done():
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise TimeoutError(f"Job {self.id} is still {self.info.get('state')} after {timeout} s.")
            for _ in self.events(timeout=remaining):
                if deadline is not None and time.monotonic() > deadline and not self.done():
                    raise TimeoutError(f"Job {self.id} is still {self.info.get('state')} after {timeout} s.")
        return self

    def outcome(self, timeout: float | None = None) -> wire.Outcome:
        """Wait, then fetch and unpack the result; raises if the job ended without one."""
        self.wait(timeout)
        if self._outcome is None:
            _raise_for_final(self.id, self.info)
            inline = (self.info.get("inline") or {}).get("result")
            if inline is not None:  # a short job's result came with its answer or its final event
                self._outcome = _load_outcome(self.id, base64.b64decode(inline))
            else:
                self._outcome = _load_result(self.id, self.info, self.pool.client.result)
        return self._outcome

    def result(self, timeout: float | None = None) -> Any:
        """The return value; the remote exception (remote traceback as its cause) if it raised."""
        return unwrap(self.outcome(timeout), self.id)

    def cancel(self) -> bool:
        """Ask the pool to cancel the job; True if it ended cancelled."""
        if not self.done():
            self.info = self.pool.client.cancel(self.id)
        return self.info.get("state") == wire.CANCELLED

    def __await__(self) -> Generator[Any, None, Any]:
        return self._aresult().__await__()

    async def _aresult(self) -> Any:
        client = self.pool.client
        if not self.done():
            async for event in client.aevents(self.id, last_event_id=self._last_event):
                self.apply(event)
                if event.type == wire.REQUEUED:
                    warnings.warn(_worker_lost(self.id, event.data.get("reason")), stacklevel=2)
            self.info = await client.ajob(self.id)
        if self._outcome is None:
            _raise_for_final(self.id, self.info)
            try:
                blob = await client.aresult(self.id)
            except errors.BadRequest as exc:
                raise _failed(self.id, self.info) from exc
            self._outcome = _load_outcome(self.id, blob)
        return unwrap(self._outcome, self.id)


def _worker_lost(job_id: str, reason: str | None) -> errors.WorkerLost:
    why = f" ({reason})" if reason else ""
    return errors.WorkerLost(
        f"Job {job_id} lost its worker{why}; it is back in the queue and the lost run is not billed."
    )


def _raise_for_final(job_id: str, info: dict[str, Any]) -> None:
    """Raise for a job that ended with no result worth fetching (cancelled, capped)."""
    state, reason = info.get("state"), info.get("reason")
    if state == wire.CANCELLED:
        raise errors.JobCancelled(
            f"Job {job_id} was cancelled before it finished; submit it again to run it.", job_id
        )
    bill = info.get("bill") or {}
    if state == wire.FAILED and (reason == "max cost" or bill.get("capped")):
        raise errors.MaxCostReached(
            info.get("error") or f"Job {job_id} reached its max cost and was stopped; raise --max-cost.", job_id
        )


def _failed(job_id: str, info: dict[str, Any]) -> errors.JobFailed:
    return errors.JobFailed(
        info.get("error") or f"Job {job_id} failed ({info.get('reason') or 'no reason given'}) without a result.",
        job_id,
    )


def _load_result(job_id: str, info: dict[str, Any], fetch: Callable[[str], bytes]) -> wire.Outcome:
    try:
        blob = fetch(job_id)
    except errors.BadRequest as exc:
        # Failed with no result blob: killed for memory or time, or the worker gave up.
        raise _failed(job_id, info) from exc
    return _load_outcome(job_id, blob)


def _load_outcome(job_id: str, blob: bytes) -> wire.Outcome:
    try:
        outcome = wire.loads(blob)
    except Exception as exc:  # unpickling raises anything the result's classes raise
        raise errors.VersionMismatch(
            f"The result of job {job_id} cannot be unpacked in this kernel ({type(exc).__name__}: {exc}); "
            "install the worker's versions of the packages it uses.",
            job_id,
        ) from exc
    if not isinstance(outcome, wire.Outcome):
        raise errors.PoolError(f"Job {job_id} returned a {type(outcome).__name__}, not a result; update the worker.")
    if not outcome.ok and outcome.error_type == "VersionMismatch":
        raise errors.VersionMismatch(outcome.error_message, job_id)
    return outcome


def remote_exception(outcome: wire.Outcome, job_id: str) -> BaseException:
    """The exception to raise locally for a failed outcome, carrying the remote traceback."""
    text = "\n".join(outcome.traceback)
    exc = outcome.exception
    if exc is None:
        return errors.RemoteError(outcome.error_type, outcome.error_message, outcome.traceback)
    exc.__cause__ = errors.RemoteTraceback(f"\nRemote traceback (job {job_id}):\n{text}")
    return exc


def unwrap(outcome: wire.Outcome, job_id: str) -> Any:
    """The outcome's value, or its exception raised."""
    if outcome.ok:
        return outcome.value
    raise remote_exception(outcome, job_id)
