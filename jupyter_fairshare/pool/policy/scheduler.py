"""The incremental scheduler: who starts next, where, and why everyone else waits.

Deterministic and in memory; every time is passed in, nothing reads a clock. The state is
kept so that one decision costs ``O(log)`` in the queue instead of a sort of it:

- Queued jobs and the heaps that order them live in :mod:`.heads`: per-account FIFO
  queues by shape, shapes by size group, groups by tier class and age kind, so the next
  job is an ``O(log)`` pop and a size that cannot start now is set aside whole.
- What each node has free, and when its running jobs should end, lives in
  :mod:`.capacity`, which keeps the nodes with a free CPU in placement order.
- A job starting or ending changes only its account's factor, so only that account's
  queues are re-keyed. Each account keeps its factor, recomputed only when its usage or
  the pool-wide normaliser changes (see :mod:`.fairshare` for the normaliser).
- Effective usage counts running jobs: a start charges its expected billing units at once,
  replaced by the real usage when it ends, so two equal accounts saturating a pool take
  turns instead of one winning every slot until its first job ends.

What the queue looks like to users (positions, expected starts, why) is built by
:mod:`.standings`.

Blocked jobs follow EASY backfilling (:mod:`.shadow`): the best job that does not fit now
holds a reservation on the node where it fits soonest; lower jobs may use that node only
if they end first or fit beside it. Small jobs flow past a large one without pushing its
start back, and its age keeps counting.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from . import standings as _standings
from .capacity import Capacity
from .estimates import RuntimeStats
from .fairshare import billing_units, fairshare_factor
from .heads import HeadIndex
from .placement import Free, first_fit
from .queues import Account, Queue
from .reserve import reserve_active
from .shadow import Reservation
from .types import (
    AccountState,
    Node,
    PolicyConfig,
    QueuedJob,
    RunningJob,
    SiteState,
    Standing,
    Start,
)

# Rescale stored usage before 2^(elapsed/half_life) could overflow a float.
_REBASE_HALF_LIVES = 512.0
_EPS = 1e-9


class Scheduler:
    """Fair-share order, newcomer reserve and placement over in-memory state.

    The dispatcher tells it what happens (``enqueue``, ``finished``, capacity changes) and
    asks it what to do (``decide``) and why (``standing``, ``why``, ``queue_view``).
    """

    def __init__(self, config: PolicyConfig) -> None:
        if config.half_life <= 0:
            raise ValueError("half_life must be more than 0 seconds; use a short one to forget usage quickly.")
        self.config = config
        self._nodes = Capacity()
        self._accounts: dict[str, Account] = {}
        self._heads = HeadIndex(config)
        self._queued: dict[str, QueuedJob] = self._heads.queued  # shared, never rebound
        self._queue_of: dict[str, Queue] = self._heads.queue_of
        self._running: dict[str, tuple[RunningJob, float]] = {}
        self._runtimes = RuntimeStats()
        self._t0: float | None = None
        self._now = -math.inf
        self._total_usage = 0.0
        self._total_shares = 0.0
        self._norm_usage = 0.0
        self._norm_shares = 0.0
        self._usage_band = (0.0, 0.0)  # total usage within this band needs no renormalising
        self._shares_band = (0.0, 0.0)
        self._newcomers_waiting = 0
        self._newcomer_cpus = 0.0
        self._version = 0
        self._snapshot: _standings.Snapshot | None = None
        self._affinity: Callable[[str], str | None] | None = None

    # ----------------------------------------------------------------- reading state

    @property
    def queued_count(self) -> int:
        """Jobs waiting."""
        return len(self._queued)

    @property
    def running_count(self) -> int:
        """Jobs holding capacity, including those on nodes that have left."""
        return len(self._running)

    @property
    def newcomer_cpus(self) -> float:
        """CPUs the newcomer tier holds now: what the reserve is measured against."""
        return self._newcomer_cpus

    @property
    def capacity(self) -> Free:
        """The pool's total CPUs, memory and GPUs over the nodes present."""
        return self._nodes.total

    def factor(self, account: str) -> float:
        """An account's fair-share factor as the scheduler currently orders by it."""
        acc = self._accounts.get(account)
        return 1.0 if acc is None else acc.factor

    # ----------------------------------------------------------------- telling it what happens

    def set_nodes(self, nodes: Sequence[Node], sites: Mapping[str, SiteState]) -> None:
        """Replace the pool's capacity; jobs running on vanished nodes stay tracked."""
        self._nodes.set_nodes(nodes, sites)
        self._version += 1

    def set_affinity(self, preferred: Callable[[str], str | None]) -> None:
        """``preferred(job_id)`` names a node to try first for that job when it has room (the
        one that ran its notebook's previous cell): a preference only, never a wait."""
        self._affinity = preferred

    def set_account(self, account: AccountState, usage_at: float) -> None:
        """Create or update an account; ``usage`` counts as recorded at ``usage_at``."""
        acc = self._account(account.name, account.tier)
        acc.tier = account.tier
        self._total_shares += account.shares - acc.shares
        acc.shares = account.shares
        scaled = account.usage * self._scale(usage_at)
        self._total_usage += scaled - acc.recorded
        acc.recorded = scaled
        self._account_changed(acc, None)

    def enqueue(self, job: QueuedJob) -> None:
        """Add a waiting job; an id already queued or running is an error."""
        if job.id in self._queued or job.id in self._running:
            raise ValueError(f"Job {job.id} is already known to the scheduler; remove it before queueing it again.")
        self._time(job.submitted_at)
        queue = self._heads.add(job, self._account(job.account, job.tier))
        if queue.shape.group.newcomer:
            self._newcomers_waiting += 1
        self._version += 1

    def remove(self, job_id: str) -> None:
        """Forget a job: cancelled while queued, or a running job's record dropped (no usage)."""
        if job_id in self._queued:
            queue = self._queue_of[job_id]
            was_head = self._heads.head(queue) == (self._queued[job_id].submitted_at, job_id)
            self._unqueue(job_id)
            if was_head:
                self._heads.index(queue)
            self._version += 1
        elif job_id in self._running:
            self._release(job_id, 0.0, None)

    def mark_running(self, job: RunningJob) -> None:
        """Record a job that is already running (rebuilding state after a restart)."""
        if job.id in self._queued:
            self.remove(job.id)
        if job.id in self._running:
            raise ValueError(f"Job {job.id} is already running; call finished() or remove() first.")
        self._time(job.started_at)
        self._account_changed(self._hold(job), None)

    def finished(self, job_id: str, usage: float, now: float) -> None:
        """A running job ended: free its resources and charge ``usage`` to its account at ``now``."""
        if job_id in self._running:
            self._time(now)
            self._release(job_id, usage, now)

    # ----------------------------------------------------------------- deciding

    @property
    def has_room(self) -> bool:
        """Whether some node has a free CPU, so that ``decide`` could start anything at all."""
        return bool(self._nodes.open)

    def decide(self, now: float) -> list[Start]:
        """Every start that should happen now, in priority order; started jobs become running."""
        self._time(now)
        heads = self._heads
        nodes = self._nodes
        heads.age(now)
        heads.begin()
        cfg = self.config
        starts: list[Start] = []
        blocked_job: QueuedJob | None = None
        reservation: Reservation | None = None
        looked = 0
        depth = cfg.backfill_depth
        # Only a start changes what the reserve reads, so it is checked once per start.
        lift = reserve_active(self._newcomers_waiting > 0, self._newcomer_cpus, nodes.total[0], cfg.newcomer_reserve)
        while nodes.open and looked <= depth:
            entry = heads.best(now, lift)
            if entry is None:
                break
            queue = entry[4]
            job = self._queued[entry[2]]
            prefer = self._affinity(job.id) if self._affinity is not None else None
            fitting = node = first_fit(job, nodes.open, nodes.free, prefer=prefer)
            if node is not None and blocked_job is not None:
                if reservation is None:
                    reservation = nodes.reserve(blocked_job, now)
                if reservation is not None and node.name == reservation.node:
                    node = nodes.backfill(job, node, reservation, now)
            if node is None:
                if blocked_job is None and nodes.fits_somewhere(job, queue.shape.key):
                    blocked_job = job
                if fitting is None:  # nothing this size or larger fits now, whatever its length
                    heads.block_at_least(queue.shape.group.size)
                else:  # it fits only on the reserved node: so would nothing as large and as long
                    heads.block_at_least(queue.shape.group.size, job.expected_seconds)
                looked += 1
                continue
            starts.append(self._start(job, node, now))
            lift = reserve_active(
                self._newcomers_waiting > 0, self._newcomer_cpus, nodes.total[0], cfg.newcomer_reserve
            )
        heads.end()
        return starts

    # ----------------------------------------------------------------- explaining

    def standing(self, job_id: str, now: float) -> Standing | None:
        """Where one queued job stands; ``None`` when it is not queued."""
        if job_id not in self._queued:
            return None
        return self._snap(now).get(job_id)

    def standings(self, now: float) -> dict[str, Standing]:
        """Every queued job's standing, keyed by job id."""
        return self._snap(now).all()

    def why(self, job_id: str, now: float, ahead: int = 5) -> dict[str, Any]:
        """A queued job's standing with the ``ahead`` jobs just before it, anonymised."""
        return _standings.why(self._snap(now), self._queued, job_id, ahead)

    def queue_view(self, now: float) -> list[dict[str, Any]]:
        """The public queue in start order, without accounts or job ids."""
        return _standings.queue_rows(self._snap(now), self._queued, now)

    # ----------------------------------------------------------------- internals: time and usage

    def _time(self, t: float) -> None:
        """Note a time passed in: fixes the usage reference and rebases it when needed."""
        if self._t0 is None:
            self._t0 = t
        elif (t - self._t0) / self.config.half_life > _REBASE_HALF_LIVES:
            self._rebase(t)
        if t > self._now:
            self._now = self._heads.now = t

    def _scale(self, t: float) -> float:
        self._time(t)
        assert self._t0 is not None
        return math.pow(2.0, (t - self._t0) / self.config.half_life)

    def _rebase(self, t: float) -> None:
        assert self._t0 is not None
        shrink = math.pow(2.0, -(t - self._t0) / self.config.half_life)
        self._t0 = t
        for acc in self._accounts.values():
            acc.recorded *= shrink
            acc.pending *= shrink
        self._running = {k: (job, charge * shrink) for k, (job, charge) in self._running.items()}
        self._total_usage = sum(acc.recorded + acc.pending for acc in self._accounts.values())
        self._renormalise()

    def _account(self, name: str, tier: str) -> Account:
        acc = self._accounts.get(name)
        if acc is None:
            acc = self._accounts[name] = Account(name, tier, 1.0)
            self._total_shares += 1.0
        return acc

    def _account_changed(self, acc: Account, before: float | None) -> None:
        """Recompute the account's kept factor after its usage changed, and re-key its queues:
        now if the factor may have risen, lazily if it fell.

        The factor is kept on the account because every key of its queues and every
        comparison here reads it, while it changes only with the account's own usage or the
        normaliser. A fallen factor leaves its heap entries as upper bounds, which
        :meth:`.HeadIndex._top` re-keys when they surface; that keeps a start from touching
        every queue of its account.
        """
        acc.factor = fairshare_factor(acc.recorded + acc.pending, acc.shares, self._norm_usage, self._norm_shares)
        if self._drifted():
            self._renormalise()
        elif before is not None and acc.factor <= before:
            acc.epoch += 1
        else:
            index = self._heads.index
            for queue in acc.queues:
                index(queue)
        self._version += 1

    def _drifted(self) -> bool:
        """Whether the totals left the band around the normaliser (``renormalise`` wide)."""
        if self._norm_usage <= 0:
            return self._total_usage > 0
        lo, hi = self._usage_band
        if not lo <= self._total_usage <= hi:
            return True
        lo, hi = self._shares_band
        return not lo <= self._total_shares <= hi

    def _renormalise(self) -> None:
        """Fix a new pool-wide scale for the fair-share factor and re-key every queue."""
        self._norm_usage = norm = max(self._total_usage, 0.0)
        self._norm_shares = shares = self._total_shares
        tol = self.config.renormalise
        self._usage_band = (norm - tol * norm, norm + tol * norm)
        spread = tol * max(shares, _EPS)
        self._shares_band = (shares - spread, shares + spread)
        for acc in self._accounts.values():
            acc.factor = fairshare_factor(acc.recorded + acc.pending, acc.shares, norm, shares)
        self._heads.rebuild()

    # ----------------------------------------------------------------- internals: queues

    def _unqueue(self, job_id: str) -> QueuedJob:
        job = self._queued.pop(job_id)
        queue = self._queue_of.pop(job_id)
        if queue.shape.group.newcomer:
            self._newcomers_waiting -= 1
        return job

    # ----------------------------------------------------------------- internals: resources

    def _start(self, job: QueuedJob, node: Node, now: float) -> Start:
        self._unqueue(job.id)
        run = RunningJob(
            job.id, job.account, job.tier, job.cpus, job.memory, job.gpus, node.name, now, job.expected_seconds
        )
        before = self._accounts[job.account].factor
        self._account_changed(self._hold(run), before)
        return Start(job.id, node.name, node.site)

    def _hold(self, job: RunningJob) -> Account:
        acc = self._account(job.account, job.tier)
        units = billing_units(job.cpus, job.memory, job.gpus, job.expected_seconds, self.config)
        charge = units * self._scale(job.started_at)
        self._running[job.id] = (job, charge)
        acc.pending += charge
        self._total_usage += charge
        self._nodes.hold(job)
        if job.tier == self.config.newcomer_tier:
            self._newcomer_cpus += job.cpus
        return acc

    def _release(self, job_id: str, usage: float, now: float | None) -> None:
        job, charge = self._running.pop(job_id)
        acc = self._accounts[job.account]
        before = acc.factor
        acc.pending = max(acc.pending - charge, 0.0)
        self._total_usage -= charge
        if now is not None and usage > 0:
            scaled = usage * self._scale(now)
            acc.recorded += scaled
            self._total_usage += scaled
            self._runtimes.observe(job.account, job.expected_seconds, now - job.started_at)
        self._nodes.release(job)
        if job.tier == self.config.newcomer_tier:
            self._newcomer_cpus -= job.cpus
        self._account_changed(acc, before)

    # ----------------------------------------------------------------- internals: standings

    def _snap(self, now: float) -> _standings.Snapshot:
        snap = self._snapshot
        if snap is not None and snap.version == self._version and abs(now - snap.now) <= self.config.standing_staleness:
            return snap
        cfg = self.config
        capacity = self._nodes.total
        lift = reserve_active(self._newcomers_waiting > 0, self._newcomer_cpus, capacity[0], cfg.newcomer_reserve)
        factors = {name: acc.factor for name, acc in self._accounts.items()}
        snap = self._snapshot = _standings.build(
            self._version, now, cfg, self._queued.values(), (job for job, _ in self._running.values()),
            factors, lift, capacity, self._runtimes,
        )
        return snap

