"""The incremental scheduler: who starts next, where, and why everyone else waits.

Deterministic and in memory; every time is passed in, nothing reads a clock. The state is
kept so that one decision costs about ``O(shapes + log(queues))`` instead of a sort of the
whole queue:

- Queued jobs live in per-account FIFO queues, one per *shape* (tier, CPUs, memory, GPUs,
  site). All jobs of one queue share their account's fair-share factor, so the oldest one
  is the queue's best; and all jobs of one shape fit exactly where the others fit, so a
  shape that does not fit now is skipped whole for the rest of a decision.
- Each shape keeps two heaps of its queues' heads. A head younger than ``max_age`` has
  priority ``wF*F - wA*submitted/max_age + wA*now/max_age``: the last term is the same for
  all, so the key without it never changes as time passes. A head older than ``max_age``
  has the time-free priority ``wF*F + wA``. Heads move from the first heap to the second
  as they age (a third heap, by submission time, says when).
- An account's usage changes (a job starts, a job ends) update only that account's
  queues. See :mod:`.fairshare` for why the pool-wide normaliser may lag by a few percent.
- Effective usage counts running jobs: each start charges its expected billing units at
  once, replaced by the real usage when it ends, so two equal accounts saturating a pool
  take turns instead of one account winning every slot until its first job ends.

Blocked jobs and backfill follow EASY backfilling: the highest-priority job that does not
fit now gets a reservation on the node where it fits soonest (from running jobs' expected
ends); lower jobs may start on that node only if they end before then or leave it room.
So small jobs flow past a large one without pushing its start back, and its age still
counts.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .estimates import Demand, Release, RuntimeStats, walk
from .fairshare import billing_units, components, fairshare_factor
from .placement import Free, first_fit, fits_somewhere, has_room, order_nodes
from .reserve import reserve_active, reserve_target
from .types import AccountState, Node, PolicyConfig, QueuedJob, RunningJob, SiteState, Standing, Start

Shape = tuple[str, float, int, int, str | None]
# Rescale stored usage before 2^(elapsed/half_life) could overflow a float.
_REBASE_HALF_LIVES = 512.0
_EPS = 1e-9


@dataclass(slots=True)
class _Account:
    name: str
    tier: str
    shares: float
    recorded: float = 0.0  # decayed usage, scaled to the reference time
    pending: float = 0.0  # expected usage of running jobs, same scale
    queues: list[_Queue] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class _Queue:
    account: _Account
    shape: _ShapeHeaps
    jobs: list[tuple[float, str]] = field(default_factory=list)
    count: int = 0
    version: int = 0


@dataclass(slots=True, eq=False)
class _ShapeHeaps:
    shape: Shape
    newcomer: bool
    young: list = field(default_factory=list)
    old: list = field(default_factory=list)
    count: int = 0


@dataclass(slots=True)
class _Running:
    job: RunningJob
    charge: float


@dataclass(slots=True)
class _Reservation:
    node: str
    shadow: float
    extra: list[float]


@dataclass(slots=True)
class _Snapshot:
    version: int
    now: float
    order: list[str]
    standings: dict[str, Standing]
    tiers: dict[str, str]


class Scheduler:
    """Fair-share order, newcomer reserve and placement over in-memory state.

    The dispatcher tells it what happens (``enqueue``, ``finished``, capacity changes) and
    asks it what to do (``decide``) and why (``standing``, ``why``, ``queue_view``).
    """

    def __init__(self, config: PolicyConfig) -> None:
        if config.half_life <= 0:
            raise ValueError("half_life must be more than 0 seconds; use a short one to forget usage quickly.")
        self.config = config
        self._nodes: list[Node] = []
        self._ordered: list[Node] = []
        self._sites: dict[str, SiteState] = {}
        self._free: dict[str, Free] = {}
        self._open: list[Node] = []
        self._used: dict[str, Free] = {}
        self._on_node: dict[str, dict[str, _Running]] = {}
        self._fits: dict[Shape, bool] = {}
        self._capacity: Free = (0.0, 0, 0)
        self._accounts: dict[str, _Account] = {}
        self._queued: dict[str, QueuedJob] = {}
        self._queue_of: dict[str, _Queue] = {}
        self._queues: dict[tuple[str, Shape], _Queue] = {}
        self._shapes: dict[Shape, _ShapeHeaps] = {}
        self._running: dict[str, _Running] = {}
        self._aging: list = []
        self._paused: set[int] = set()
        self._paused_queues: list[_Queue] = []
        self._runtimes = RuntimeStats()
        self._t0: float | None = None
        self._now = -math.inf
        self._total_usage = 0.0
        self._total_shares = 0.0
        self._norm_usage = 0.0
        self._norm_shares = 0.0
        self._newcomers_waiting = 0
        self._newcomer_cpus = 0.0
        self._version = 0
        self._snapshot: _Snapshot | None = None

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
        return self._capacity

    def factor(self, account: str) -> float:
        """An account's fair-share factor as the scheduler currently orders by it."""
        acc = self._accounts.get(account)
        return 1.0 if acc is None else self._factor(acc)

    # ----------------------------------------------------------------- capacity

    def set_nodes(self, nodes: Sequence[Node], sites: Mapping[str, SiteState]) -> None:
        """Replace the pool's capacity; jobs running on vanished nodes stay tracked."""
        self._nodes = list(nodes)
        self._sites = dict(sites)
        self._ordered = order_nodes(self._nodes, self._sites)
        self._free = {}
        for node in self._ordered:
            used = self._used.get(node.name, (0.0, 0, 0))
            self._free[node.name] = (node.cpus - used[0], node.memory - used[1], node.gpus - used[2])
        self._open = [node for node in self._ordered if self._free[node.name][0] > _EPS]
        self._capacity = (
            sum(n.cpus for n in self._nodes),
            sum(n.memory for n in self._nodes),
            sum(n.gpus for n in self._nodes),
        )
        self._fits = {}
        self._changed()

    # ----------------------------------------------------------------- accounts

    def set_account(self, account: AccountState, usage_at: float) -> None:
        """Create or update an account; ``usage`` counts as recorded at ``usage_at``."""
        acc = self._account(account.name, account.tier)
        acc.tier = account.tier
        self._total_shares += account.shares - acc.shares
        acc.shares = account.shares
        scaled = account.usage * self._scale(usage_at)
        self._total_usage += scaled - acc.recorded
        acc.recorded = scaled
        self._account_changed(acc)

    # ----------------------------------------------------------------- queue

    def enqueue(self, job: QueuedJob) -> None:
        """Add a waiting job; an id already queued or running is an error."""
        if job.id in self._queued or job.id in self._running:
            raise ValueError(f"Job {job.id} is already known to the scheduler; remove it before queueing it again.")
        self._time(job.submitted_at)
        acc = self._account(job.account, job.tier)
        shape: Shape = (job.tier, float(job.cpus), int(job.memory), int(job.gpus), job.site)
        queue = self._queues.get((acc.name, shape))
        if queue is None:
            heaps = self._shapes.get(shape)
            if heaps is None:
                heaps = self._shapes[shape] = _ShapeHeaps(shape, job.tier == self.config.newcomer_tier)
            queue = self._queues[(acc.name, shape)] = _Queue(acc, heaps)
            acc.queues.append(queue)
        old_head = self._head(queue)
        entry = (job.submitted_at, job.id)
        heapq.heappush(queue.jobs, entry)
        queue.count += 1
        queue.shape.count += 1
        self._queued[job.id] = job
        self._queue_of[job.id] = queue
        if queue.shape.newcomer:
            self._newcomers_waiting += 1
        if old_head is None or entry < old_head:
            self._index(queue)
        self._changed()

    def remove(self, job_id: str) -> None:
        """Forget a job: cancelled while queued, or a running job's record dropped (no usage)."""
        if job_id in self._queued:
            queue = self._queue_of[job_id]
            was_head = self._head(queue) == (self._queued[job_id].submitted_at, job_id)
            self._unqueue(job_id)
            if was_head:
                self._index(queue)
            self._changed()
        elif job_id in self._running:
            self._release(job_id, 0.0, None)
            self._changed()

    def mark_running(self, job: RunningJob) -> None:
        """Record a job that is already running (rebuilding state after a restart)."""
        if job.id in self._queued:
            self.remove(job.id)
        if job.id in self._running:
            raise ValueError(f"Job {job.id} is already running; call finished() or remove() first.")
        self._time(job.started_at)
        self._hold(job)
        self._changed()

    def finished(self, job_id: str, usage: float, now: float) -> None:
        """A running job ended: free its resources and charge ``usage`` to its account at ``now``."""
        if job_id not in self._running:
            return
        self._time(now)
        self._release(job_id, usage, now)
        self._changed()

    # ----------------------------------------------------------------- deciding

    def decide(self, now: float) -> list[Start]:
        """Every start that should happen now, in priority order; started jobs become running."""
        self._time(now)
        self._age(now)
        starts: list[Start] = []
        blocked: set[Shape] = set()
        blocked_job: QueuedJob | None = None
        reservation: _Reservation | None = None
        looked = 0
        cfg = self.config
        while self._queued and self._open and looked <= cfg.backfill_depth:
            best = self._best(now, blocked)
            if best is None:
                break
            queue, job = best
            node = first_fit(job, self._open, self._free)
            if node is None:
                blocked.add(queue.shape.shape)
                looked += 1
                if blocked_job is None and self._fits_somewhere(job):
                    blocked_job = job
                continue
            if blocked_job is not None:
                if reservation is None:
                    reservation = self._reserve(blocked_job, now)
                if reservation is not None and node.name == reservation.node:
                    node = self._backfill(job, node, reservation, now)
                if node is None:
                    self._pause(queue)
                    looked += 1
                    continue
            starts.append(self._start(job, node, now))
        paused, self._paused_queues = self._paused_queues, []
        self._paused.clear()
        for queue in paused:
            self._index(queue)
        if starts:
            self._changed()
        return starts

    # ----------------------------------------------------------------- explaining

    def standing(self, job_id: str, now: float) -> Standing | None:
        """Where one queued job stands; ``None`` when it is not queued."""
        if job_id not in self._queued:
            return None
        return self._standings(now).standings.get(job_id)

    def standings(self, now: float) -> dict[str, Standing]:
        """Every queued job's standing, keyed by job id."""
        return dict(self._standings(now).standings)

    def why(self, job_id: str, now: float, ahead: int = 5) -> dict:
        """A queued job's standing with the ``ahead`` jobs just before it, anonymised."""
        snap = self._standings(now)
        mine = snap.standings.get(job_id)
        if mine is None:
            return {}
        first = max(mine.position - 1 - ahead, 0)
        before = []
        for other in snap.order[first : mine.position - 1]:
            st = snap.standings[other]
            before.append(
                {"position": st.position, "tier": snap.tiers[other], "priority": st.components["priority"], "components": dict(st.components)}
            )
        return {
            "position": mine.position,
            "queue_length": mine.queue_length,
            "expected_start": mine.expected_start,
            "uncertainty": mine.uncertainty,
            "components": dict(mine.components),
            "ahead": before,
        }

    def queue_view(self, now: float) -> list[dict]:
        """The public queue in start order, without accounts or job ids."""
        snap = self._standings(now)
        rows = []
        for job_id in snap.order:
            job = self._queued[job_id]
            st = snap.standings[job_id]
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
                    "components": dict(st.components),
                }
            )
        return rows

    # ----------------------------------------------------------------- internals: time and usage

    def _time(self, t: float) -> None:
        """Note a time passed in: fixes the usage reference and rebases it when needed."""
        if self._t0 is None:
            self._t0 = t
        elif (t - self._t0) / self.config.half_life > _REBASE_HALF_LIVES:
            self._rebase(t)
        if t > self._now:
            self._now = t

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
        for run in self._running.values():
            run.charge *= shrink
        self._total_usage = sum(acc.recorded + acc.pending for acc in self._accounts.values())
        self._renormalise()

    def _account(self, name: str, tier: str) -> _Account:
        acc = self._accounts.get(name)
        if acc is None:
            acc = self._accounts[name] = _Account(name, tier, 1.0)
            self._total_shares += 1.0
        return acc

    def _factor(self, acc: _Account) -> float:
        return fairshare_factor(acc.recorded + acc.pending, acc.shares, self._norm_usage, self._norm_shares)

    def _account_changed(self, acc: _Account) -> None:
        if self._drifted():
            self._renormalise()
        else:
            for queue in acc.queues:
                self._index(queue)
        self._changed()

    def _drifted(self) -> bool:
        tol = self.config.renormalise
        if self._norm_usage <= 0:
            return self._total_usage > 0
        return (
            abs(self._total_usage - self._norm_usage) > tol * self._norm_usage
            or abs(self._total_shares - self._norm_shares) > tol * max(self._norm_shares, _EPS)
        )

    def _renormalise(self) -> None:
        """Fix a new pool-wide scale for the fair-share factor and re-key every queue."""
        self._norm_usage = max(self._total_usage, 0.0)
        self._norm_shares = self._total_shares
        for heaps in self._shapes.values():
            heaps.young = []
            heaps.old = []
        self._aging = []
        for queue in self._queues.values():
            self._index(queue)

    # ----------------------------------------------------------------- internals: queues and heaps

    def _head(self, queue: _Queue) -> tuple[float, str] | None:
        jobs = queue.jobs
        while jobs:
            t, job_id = jobs[0]
            if self._queue_of.get(job_id) is queue and self._queued[job_id].submitted_at == t:
                return jobs[0]
            heapq.heappop(jobs)
        return None

    def _index(self, queue: _Queue) -> None:
        """(Re)insert a queue's head into its shape's heaps under its current key."""
        queue.version += 1
        if id(queue) in self._paused:
            return
        head = self._head(queue)
        if head is None:
            return
        t, job_id = head
        cfg = self.config
        f = self._factor(queue.account)
        if cfg.max_age > 0 and t > self._now - cfg.max_age:
            key = cfg.fairshare_weight * f - cfg.age_weight * t / cfg.max_age
            heapq.heappush(queue.shape.young, (-key, t, job_id, queue.version, queue))
            heapq.heappush(self._aging, (t, job_id, queue.version, queue))
        else:
            heapq.heappush(queue.shape.old, (-(cfg.fairshare_weight * f + cfg.age_weight), t, job_id, queue.version, queue))

    def _age(self, now: float) -> None:
        """Move heads that reached ``max_age`` to the saturated heaps."""
        limit = now - self.config.max_age
        aging = self._aging
        while aging and aging[0][0] <= limit:
            _, _, version, queue = heapq.heappop(aging)
            if version == queue.version:
                self._index(queue)

    @staticmethod
    def _top(heap: list) -> tuple | None:
        while heap:
            entry = heap[0]
            if entry[3] == entry[4].version:
                return entry
            heapq.heappop(heap)
        return None

    def _best(self, now: float, blocked: set[Shape]) -> tuple[_Queue, QueuedJob] | None:
        """The queue whose head goes next: reserve first, then priority, submission, id."""
        cfg = self.config
        lift = reserve_active(
            self._newcomers_waiting > 0, self._newcomer_cpus, self._capacity[0], cfg.newcomer_reserve
        )
        shift = cfg.age_weight * now / cfg.max_age if cfg.max_age > 0 else 0.0
        best_rank: tuple | None = None
        best_queue: _Queue | None = None
        for shape, heaps in self._shapes.items():
            if heaps.count == 0 or shape in blocked:
                continue
            boost = 1 if lift and heaps.newcomer else 0
            for entry, offset in ((self._top(heaps.young), shift), (self._top(heaps.old), 0.0)):
                if entry is None:
                    continue
                rank = (-boost, entry[0] - offset, entry[1], entry[2])
                if best_rank is None or rank < best_rank:
                    best_rank, best_queue = rank, entry[4]
        if best_queue is None or best_rank is None:
            return None
        return best_queue, self._queued[best_rank[3]]

    def _pause(self, queue: _Queue) -> None:
        """Take a queue out of this decision (its head may not backfill here)."""
        self._paused.add(id(queue))
        self._paused_queues.append(queue)
        queue.version += 1

    def _unqueue(self, job_id: str) -> QueuedJob:
        job = self._queued.pop(job_id)
        queue = self._queue_of.pop(job_id)
        queue.count -= 1
        queue.shape.count -= 1
        if queue.shape.newcomer:
            self._newcomers_waiting -= 1
        return job

    def _fits_somewhere(self, job: QueuedJob) -> bool:
        shape = self._queue_of[job.id].shape.shape
        fits = self._fits.get(shape)
        if fits is None:
            fits = self._fits[shape] = fits_somewhere(job, self._nodes)
        return fits

    # ----------------------------------------------------------------- internals: resources

    def _start(self, job: QueuedJob, node: Node, now: float) -> Start:
        queue = self._queue_of[job.id]
        self._unqueue(job.id)
        self._hold(
            RunningJob(job.id, job.account, job.tier, job.cpus, job.memory, job.gpus, node.name, now, job.expected_seconds),
            reindex=False,
        )
        self._account_changed(queue.account)
        return Start(job.id, node.name, node.site)

    def _hold(self, job: RunningJob, reindex: bool = True) -> None:
        acc = self._account(job.account, job.tier)
        charge = billing_units(job.cpus, job.memory, job.gpus, job.expected_seconds, self.config) * self._scale(job.started_at)
        run = _Running(job, charge)
        self._running[job.id] = run
        self._on_node.setdefault(job.node, {})[job.id] = run
        acc.pending += charge
        self._total_usage += charge
        self._use(job.node, job.cpus, job.memory, job.gpus)
        if job.tier == self.config.newcomer_tier:
            self._newcomer_cpus += job.cpus
        if reindex:
            self._account_changed(acc)

    def _release(self, job_id: str, usage: float, now: float | None) -> None:
        run = self._running.pop(job_id)
        job = run.job
        del self._on_node[job.node][job_id]
        acc = self._accounts[job.account]
        acc.pending = max(acc.pending - run.charge, 0.0)
        self._total_usage -= run.charge
        if now is not None and usage > 0:
            scaled = usage * self._scale(now)
            acc.recorded += scaled
            self._total_usage += scaled
            self._runtimes.observe(job.account, job.expected_seconds, now - job.started_at)
        self._use(job.node, -job.cpus, -job.memory, -job.gpus)
        if job.tier == self.config.newcomer_tier:
            self._newcomer_cpus -= job.cpus
        self._account_changed(acc)

    def _use(self, name: str, cpus: float, memory: int, gpus: int) -> None:
        used = self._used.get(name, (0.0, 0, 0))
        self._used[name] = (used[0] + cpus, used[1] + memory, used[2] + gpus)
        free = self._free.get(name)
        if free is None:
            return
        was_open = free[0] > _EPS
        free = (free[0] - cpus, free[1] - memory, free[2] - gpus)
        self._free[name] = free
        if was_open != (free[0] > _EPS):
            self._open = [node for node in self._ordered if self._free[node.name][0] > _EPS]

    def _end(self, run: _Running, now: float) -> float:
        job = run.job
        return max(job.started_at + job.expected_seconds * self._runtimes.scale(job.account), now)

    def _reserve(self, job: QueuedJob, now: float) -> _Reservation | None:
        """The node where ``job`` fits soonest, when, and what room it leaves there then."""
        best: _Reservation | None = None
        for node in self._ordered:
            if job.site is not None and node.site != job.site:
                continue
            if not has_room((node.cpus, node.memory, node.gpus), job.cpus, job.memory, job.gpus):
                continue
            free = list(self._free[node.name])
            shadow = now
            for run in sorted(self._on_node.get(node.name, {}).values(), key=lambda r: (self._end(r, now), r.job.id)):
                if has_room((free[0], free[1], free[2]), job.cpus, job.memory, job.gpus):
                    break
                shadow = self._end(run, now)
                free[0] += run.job.cpus
                free[1] += run.job.memory
                free[2] += run.job.gpus
            if best is None or shadow < best.shadow:
                best = _Reservation(node.name, shadow, [free[0] - job.cpus, free[1] - job.memory, free[2] - job.gpus])
        return best

    def _backfill(self, job: QueuedJob, node: Node, res: _Reservation, now: float) -> Node | None:
        """The node a lower job may take without delaying the reserved one, if any."""
        if now + job.expected_seconds * self._runtimes.scale(job.account) <= res.shadow:
            return node
        if res.extra[0] >= job.cpus and res.extra[1] >= job.memory and res.extra[2] >= job.gpus:
            res.extra[0] -= job.cpus
            res.extra[1] -= job.memory
            res.extra[2] -= job.gpus
            return node
        return first_fit(job, self._open, self._free, exclude=res.node)

    # ----------------------------------------------------------------- internals: standings

    def _changed(self) -> None:
        self._version += 1

    def _standings(self, now: float) -> _Snapshot:
        snap = self._snapshot
        if snap is not None and snap.version == self._version and abs(now - snap.now) <= self.config.standing_staleness:
            return snap
        snap = self._snapshot = self._build(now)
        return snap

    def _build(self, now: float) -> _Snapshot:
        cfg = self.config
        lift = reserve_active(self._newcomers_waiting > 0, self._newcomer_cpus, self._capacity[0], cfg.newcomer_reserve)
        factors = {name: self._factor(acc) for name, acc in self._accounts.items()}
        runtimes = self._runtimes
        parts: dict[str, dict[str, float]] = {}
        newcomers: list[Demand] = []
        others: list[Demand] = []
        for job in self._queued.values():
            newcomer = job.tier == cfg.newcomer_tier
            comp = components(factors[job.account], now - job.submitted_at, lift and newcomer, cfg)
            parts[job.id] = comp
            rank = (-(comp["priority"] - comp["reserve"]), job.submitted_at, job.id)
            seconds = job.expected_seconds * runtimes.scale(job.account)
            demand = Demand(job.id, job.cpus, job.memory, job.gpus, seconds, runtimes.cv(job.account), rank)
            (newcomers if newcomer else others).append(demand)
        newcomers.sort(key=lambda d: d.rank)
        others.sort(key=lambda d: d.rank)
        running = [
            Release(self._end(run, now), run.job.cpus, run.job.memory, run.job.gpus, run.job.tier == cfg.newcomer_tier, runtimes.cv(run.job.account))
            for run in self._running.values()
        ]
        target = reserve_target(self._capacity[0], cfg.newcomer_reserve)
        estimates = walk(now, self._capacity, running, newcomers, others, target)
        total = len(estimates)
        standings = {
            est.job: Standing(est.job, est.position, total, est.start, est.uncertainty, parts[est.job]) for est in estimates
        }
        tiers = {job_id: self._queued[job_id].tier for job_id in standings}
        return _Snapshot(self._version, now, [est.job for est in estimates], standings, tiers)

