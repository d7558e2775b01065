"""The queue as users see it: every waiting job's position, expected start and priority parts.

Built in one pass (a sort per tier and the forward walk of :mod:`.estimates`) and cached
by the scheduler until its state changes. The pass keeps plain tuples and lists only; a
:class:`~.types.Standing` is made when one is asked for, so an API call for one job costs
the pass plus one record, not one record per queued job.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .estimates import Demand, Release, RuntimeStats, walk
from .fairshare import components
from .reserve import reserve_target
from .types import PolicyConfig, QueuedJob, RunningJob, Standing

_FACTOR, _NEWCOMER = 8, 9  # fields of a snapshot's Demand after the walk's own


class Snapshot:
    """Standings of all queued jobs at ``now``, valid while the scheduler's ``version`` holds."""

    __slots__ = ("version", "now", "order", "_demands", "_starts", "_spreads", "_index", "_config", "_lift", "_made")

    def __init__(self, version: int, now: float, demands: list[Demand], starts: list[float], spreads: list[float],
                 config: PolicyConfig, lift: bool) -> None:
        self.version = version
        self.now = now
        self.order = [d[2] for d in demands]
        self._demands = demands
        self._starts = starts
        self._spreads = spreads
        self._index = {job_id: i for i, job_id in enumerate(self.order)}
        self._config = config
        self._lift = lift
        self._made: dict[str, Standing] = {}

    def __len__(self) -> int:
        return len(self.order)

    def get(self, job_id: str) -> Standing | None:
        """One job's standing, made on first request; ``None`` for a job not in the snapshot."""
        return self[job_id] if job_id in self._index else None

    def __getitem__(self, job_id: str) -> Standing:
        made = self._made.get(job_id)
        if made is None:
            i = self._index[job_id]
            d = self._demands[i]
            parts = components(d[_FACTOR], self.now - d[1], self._lift and d[_NEWCOMER], self._config)
            made = Standing(job_id, i + 1, len(self.order), self._starts[i], self._spreads[i], parts)
            self._made[job_id] = made
        return made

    def all(self) -> dict[str, Standing]:
        """Every job's standing, in start order."""
        return {job_id: self[job_id] for job_id in self.order}


def build(
    version: int,
    now: float,
    config: PolicyConfig,
    queued: Iterable[QueuedJob],
    running: Iterable[RunningJob],
    factors: Mapping[str, float],
    lift: bool,
    capacity: tuple[float, int, int],
    runtimes: RuntimeStats,
) -> Snapshot:
    """Order the queue as the scheduler would start it and estimate each start."""
    newcomers: list[Demand] = []
    others: list[Demand] = []
    w_f, w_a, max_age = config.fairshare_weight, config.age_weight, config.max_age
    newcomer_tier = config.newcomer_tier
    learned: dict[str, tuple[float, float]] = {}
    for job in queued:
        account = job.account
        stats = learned.get(account)
        if stats is None:
            stats = learned[account] = (runtimes.scale(account), runtimes.cv(account))
        factor = factors.get(account, 1.0)
        waited = now - job.submitted_at
        age = 1.0 if max_age <= 0 else min(1.0, max(waited, 0.0) / max_age)
        newcomer = job.tier == newcomer_tier
        (newcomers if newcomer else others).append((
            -(w_f * factor + w_a * age), job.submitted_at, job.id, job.cpus, job.memory, job.gpus,
            job.expected_seconds * stats[0], stats[1], factor, newcomer,
        ))
    newcomers.sort()
    others.sort()
    releases = [
        Release(
            job.started_at + job.expected_seconds * runtimes.scale(job.account),
            job.cpus, job.memory, job.gpus, job.tier == newcomer_tier, runtimes.cv(job.account),
        )
        for job in running
    ]
    floor = reserve_target(capacity[0], config.newcomer_reserve)
    order, starts, spreads = walk(now, capacity, releases, newcomers, others, floor)
    return Snapshot(version, now, order, starts, spreads, config, lift)


def why(snap: Snapshot, queued: Mapping[str, QueuedJob], job_id: str, ahead: int) -> dict[str, Any]:
    """A queued job's standing with the ``ahead`` jobs just before it, anonymised; ``{}`` if
    it is not queued."""
    mine = snap.get(job_id)
    if mine is None:
        return {}
    before = []
    for other in snap.order[max(mine.position - 1 - ahead, 0) : mine.position - 1]:
        st = snap[other]
        before.append(
            {"position": st.position, "tier": queued[other].tier, "priority": st.components["priority"],
             "components": dict(st.components)}
        )
    return {
        "position": mine.position,
        "queue_length": mine.queue_length,
        "expected_start": mine.expected_start,
        "uncertainty": mine.uncertainty,
        "components": dict(mine.components),
        "ahead": before,
    }


def queue_rows(snap: Snapshot, queued: Mapping[str, QueuedJob], now: float) -> list[dict[str, Any]]:
    """The public queue in start order, without accounts or job ids."""
    rows = []
    for job_id in snap.order:
        job = queued[job_id]
        st = snap[job_id]
        rows.append(
            {
                "position": st.position,
                "tier": job.tier,
                "cpus": job.cpus,
                "memory": job.memory,
                "gpus": job.gpus,
                "site": job.site,
                "waited": max(now - job.submitted_at, 0.0),
                "expected_start": st.expected_start,
                "uncertainty": st.uncertainty,
                "components": dict(st.components),
            }
        )
    return rows
