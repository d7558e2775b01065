"""A queued or running job as the pool keeps it in memory.

Only the job book (``lifecycle.py``) changes a ``LiveJob``'s state; the store module reads
it to write rows and the views read it to answer without a store round trip.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from ..protocol import JobState
from .policy import QueuedJob


@dataclass
class LiveJob:
    """A queued or running job: what the scheduler, the run loop and the views need of it."""

    id: str
    account: int
    account_name: str
    tier: str
    name: str
    kind: str
    cpus: float
    memory: int
    gpus: int
    max_cost: float
    hold: float
    submitted_at: float
    site_request: str | None = None
    deadline: float | None = None
    state: JobState = JobState.QUEUED
    attempt: int = 0
    site: str | None = None
    node: str | None = None
    started_at: float | None = None
    rate: float = 0.0  # credits per second of wall time at its site's prices
    progress: dict[str, int] | None = None
    notebook: str | None = None
    cell: str | None = None
    # Its owner cancelled it while it ran: a lost attempt then ends it cancelled, not back in the queue.
    cancel_requested: bool = False
    predicted_wait: float | None = None  # what the pool estimated at submission
    predicted_uncertainty: float | None = None
    greener: dict[str, float] | None = None  # the greener window a deadline job waits for
    payload: bytes | None = field(default=None, repr=False)  # kept until dispatch when small
    spooled: bool = False  # its payload is a file in the spool, removed when the job ends
    output: list[dict[str, Any]] | None = field(default_factory=list, repr=False)  # this attempt's output, while small
    output_bytes: int = 0
    inline: dict[str, Any] | None = field(default=None, repr=False)  # output and result for a ?wait answer
    final: dict[str, Any] | None = field(default=None, repr=False)  # the job as the API shows it once settled
    ended: asyncio.Event = field(default_factory=asyncio.Event, repr=False)  # set when the job settles
    news: asyncio.Event = field(default_factory=asyncio.Event, repr=False)  # set when it settles or prints

    def queued(self) -> QueuedJob:
        """The job as the pure scheduling policy sees it."""
        return QueuedJob(self.id, self.account_name, self.tier, self.cpus, self.memory, self.gpus,
                         self.submitted_at, self.site_request)

    def public(self) -> dict[str, Any]:
        """The job as the API shows it, from memory (no store read on the hot path)."""
        return {
            "id": self.id, "name": self.name, "kind": self.kind, "state": self.state.value, "reason": None,
            "error": None, "cpus": self.cpus, "memory": self.memory, "gpus": self.gpus, "max_cost": self.max_cost,
            "hold": self.hold, "site": self.site, "attempt": self.attempt, "submitted_at": self.submitted_at,
            "started_at": self.started_at, "finished_at": None, "cost": 0.0, "bill": None,
            "notebook": self.notebook, "cell": self.cell, "progress": self.progress,
        }
