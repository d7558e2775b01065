"""Replay a workload through the real scheduler at full speed.

The simulator owns a clock and an event heap and nothing else: every ordering, reserve and
placement decision is made by :class:`~.scheduler.Scheduler`, exactly as in the pool. It
is what the fairness properties are tested and benchmarked with. At one instant, jobs end
first, then arrivals are queued, then the scheduler decides once.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .fairshare import billing_units
from .scheduler import Scheduler
from .types import AccountState, Node, PolicyConfig, QueuedJob, SiteState


@dataclass(frozen=True, slots=True)
class Submission:
    """A job of the workload and how long it will really run once started."""

    job: QueuedJob
    runtime: float


@dataclass(frozen=True, slots=True)
class Run:
    """What happened to one job: where, and from when to when."""

    job: QueuedJob
    node: str
    start: float
    end: float


@dataclass(slots=True)
class SimResult:
    """Every job's run, with the figures the fairness properties are stated in."""

    runs: dict[str, Run] = field(default_factory=dict)
    unstarted: list[QueuedJob] = field(default_factory=list)
    capacity_cpus: float = 0.0
    decisions: int = 0

    def waits(self) -> dict[str, float]:
        """Seconds each started job waited in the queue."""
        return {job_id: run.start - run.job.submitted_at for job_id, run in self.runs.items()}

    def service(self, start: float, end: float, key: str = "account") -> dict[str, float]:
        """CPU-seconds delivered in ``[start, end)``, by ``account`` or by ``tier``."""
        out: dict[str, float] = {}
        for run in self.runs.values():
            overlap = min(run.end, end) - max(run.start, start)
            if overlap > 0:
                name = run.job.account if key == "account" else run.job.tier
                out[name] = out.get(name, 0.0) + overlap * run.job.cpus
        return out

    def utilisation(self, start: float, end: float) -> float:
        """Busy CPU-seconds over available CPU-seconds in ``[start, end)``."""
        if end <= start or self.capacity_cpus <= 0:
            return 0.0
        return sum(self.service(start, end).values()) / (self.capacity_cpus * (end - start))


def jain_index(values: Iterable[float]) -> float:
    """Jain's fairness index: 1.0 when all values are equal, ``1/n`` when one takes all."""
    xs = list(values)
    if not xs:
        return 1.0
    square = sum(x * x for x in xs)
    return (sum(xs) ** 2) / (len(xs) * square) if square > 0 else 1.0


def simulate(
    config: PolicyConfig,
    nodes: Sequence[Node],
    workload: Iterable[Submission],
    sites: Mapping[str, SiteState] | None = None,
    accounts: Iterable[AccountState] = (),
    until: float = math.inf,
) -> SimResult:
    """Run ``workload`` to completion (or to ``until``) and report every job's run."""
    sites = dict(sites) if sites is not None else {n.site: SiteState(n.site, 100.0, 1.0) for n in nodes}
    scheduler = Scheduler(config)
    scheduler.set_nodes(nodes, sites)
    submissions = sorted(workload, key=lambda s: (s.job.submitted_at, s.job.id))
    first = submissions[0].job.submitted_at if submissions else 0.0
    for account in accounts:
        scheduler.set_account(account, first)
    runtime = {s.job.id: s.runtime for s in submissions}
    jobs = {s.job.id: s.job for s in submissions}
    result = SimResult(capacity_cpus=sum(n.cpus for n in nodes))
    ends: list[tuple[float, str]] = []
    started: dict[str, tuple[str, float]] = {}
    i = 0
    while i < len(submissions) or ends:
        next_submission = submissions[i].job.submitted_at if i < len(submissions) else math.inf
        now = min(next_submission, ends[0][0] if ends else math.inf)
        if now > until:
            break
        while ends and ends[0][0] <= now:
            _, job_id = heapq.heappop(ends)
            job = jobs[job_id]
            node, start = started.pop(job_id)
            usage = billing_units(job.cpus, job.memory, job.gpus, now - start, config)
            scheduler.finished(job_id, usage, now)
            result.runs[job_id] = Run(job, node, start, now)
        while i < len(submissions) and submissions[i].job.submitted_at <= now:
            scheduler.enqueue(submissions[i].job)
            i += 1
        for decision in scheduler.decide(now):
            result.decisions += 1
            started[decision.job] = (decision.node, now)
            heapq.heappush(ends, (now + runtime[decision.job], decision.job))
    for job_id, (node, start) in started.items():
        result.runs[job_id] = Run(jobs[job_id], node, start, math.inf if until == math.inf else until)
    result.unstarted = [jobs[j] for j in jobs if j not in result.runs]
    return result
