"""The vocabulary the kernel side, the pool and the workers share: states, events, limits, reports.

Everything here is plain data that crosses a process boundary (HTTP JSON, Dask's msgpack),
so the types are string enums and ``TypedDict`` s rather than classes with behaviour: a
``JobState.RUNNING`` compares equal to the ``"running"`` a stored row or an old client
holds, and a ``Limits`` is the very dict the worker receives.

A job's life, as the pool's job book (``pool/lifecycle.py``) drives it::

    queued ──► running ──► done | failed | cancelled
       ▲          │
       └─requeued─┘   (worker lost, pool restarted; the lost run is not billed)
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypedDict


class JobState(StrEnum):
    """Where a job is in its life; the last three are final."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self in FINAL_STATES


FINAL_STATES = frozenset({JobState.DONE, JobState.FAILED, JobState.CANCELLED})


class EventType(StrEnum):
    """The events a job's stream carries, in the order a job meets them.

    ``queued``, ``started``, ``requeued`` and the final three are stored and carry a sequence
    id to resume from; ``output`` is stored too. ``progress`` and ``cost`` are transient: a
    listener that reconnects gets the next one, not the ones it missed.
    """

    QUEUED = "queued"
    STARTED = "started"
    OUTPUT = "output"
    PROGRESS = "progress"
    COST = "cost"
    REQUEUED = "requeued"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self.value in FINAL_STATES


class StopReason(StrEnum):
    """Why a job ended other than by finishing: the ``reason`` of a failed or cancelled job."""

    TIME = "time"  # past the pool's wall-time limit
    MAX_COST = "max cost"  # its max cost ran out: stopped and billed up to the cap
    MEMORY = "memory"  # over its memory limit
    CANCELLED = "cancelled"  # by its owner
    WORKER_LOST = "worker lost"  # its worker left too often; not billed
    WORKER_ERROR = "worker error"  # the pool's own code failed on the worker; not billed


class Limits(TypedDict, total=False):
    """What the pool tells a worker about one attempt (the ``limits`` of ``fairshare_run``).

    ``wall_seconds`` is the earlier of the pool's time limit and the moment the job's max cost
    runs out; ``wall_reason`` says which of the two it is, so the worker reports the stop as
    what it was and the pool need not work it out afterwards.
    """

    cpus: float
    memory: int  # bytes
    wall_seconds: float
    wall_reason: str  # StopReason.TIME or StopReason.MAX_COST
    account_key: str  # opaque: a job process is kept only for the same key's next job
    notebook_key: str  # opaque: a kept process is preferred for the same account and notebook
    payload_path: str  # a spool file on the worker's host, mapped instead of sent


class Report(TypedDict):
    """What a worker answers when an attempt ends: its outcome and what it used."""

    state: str  # JobState.DONE, FAILED or CANCELLED
    reason: str | None  # a StopReason when a limit or a cancel stopped it
    error: str | None  # one sentence for the job's owner
    result: bytes | None  # the outcome blob, opaque to the pool
    cpu_seconds: float
    wall_seconds: float
    peak_memory: int  # bytes

