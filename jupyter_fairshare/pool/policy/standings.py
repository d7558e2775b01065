"""The queue as users see it: every waiting job's position, expected start and priority parts.

Built in one pass (a sort per tier and the forward walk of :mod:`.estimates`) and cached
by the scheduler until its state changes, so an API call for one job is a dictionary look-up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .estimates import Demand, Release, RuntimeStats, walk
from .fairshare import components
from .reserve import reserve_target
from .types import PolicyConfig, QueuedJob, RunningJob, Standing


@dataclass(slots=True)
class Snapshot:
    """Standings of all queued jobs at ``now``, valid while the scheduler's ``version`` holds."""

    version: int
    now: float
    order: list[str]
    standings: dict[str, Standing]
    tiers: dict[str, str]


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
    parts: dict[str, dict[str, float]] = {}
    tiers: dict[str, str] = {}
    for job in queued:
        newcomer = job.tier == config.newcomer_tier
        comp = components(factors.get(job.account, 1.0), now - job.submitted_at, lift and newcomer, config)
        parts[job.id] = comp
        tiers[job.id] = job.tier
        rank = (-(comp["fairshare"] + comp["age"]), job.submitted_at, job.id)
        seconds = job.expected_seconds * runtimes.scale(job.account)
        (newcomers if newcomer else others).append(
            Demand(job.id, job.cpus, job.memory, job.gpus, seconds, runtimes.cv(job.account), rank)
        )
    newcomers.sort(key=lambda d: d.rank)
    others.sort(key=lambda d: d.rank)
    releases = [
        Release(
            job.started_at + job.expected_seconds * runtimes.scale(job.account),
            job.cpus, job.memory, job.gpus, job.tier == config.newcomer_tier, runtimes.cv(job.account),
        )
        for job in running
    ]
    estimates = walk(now, capacity, releases, newcomers, others, reserve_target(capacity[0], config.newcomer_reserve))
    total = len(estimates)
    standings = {e.job: Standing(e.job, e.position, total, e.start, e.uncertainty, parts[e.job]) for e in estimates}
    return Snapshot(version, now, [e.job for e in estimates], standings, tiers)
