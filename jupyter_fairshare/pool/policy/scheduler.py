"""The incremental scheduler: who starts next, where, and why everyone else waits.

Deterministic and in memory; every time is passed in, nothing reads a clock. The state is
kept so that one decision costs ``O(log)`` in the queue instead of a sort of it:

- Queued jobs live in per-account FIFO queues, one per *shape* (tier, CPUs, memory, GPUs,
  site, expected run time). All jobs of one queue share their account's fair-share factor,
  so the oldest is the queue's best; all jobs of one shape fit exactly where the others
  fit, so a shape that cannot start now is set aside whole for the rest of a decision.
- Each shape keeps its queues' heads in two heaps. A head younger than ``max_age`` has
  priority ``wF*F - wA*submitted/max_age + wA*now/max_age``; the last term is common to
  all, so the key without it never changes as time passes. An older head has the
  time-free priority ``wF*F + wA``. Heads move to the second heap as they reach
  ``max_age`` (a heap by submission time says when). Above the shapes, one heap per tier
  class and age kind lists each shape's best head, so the next job is an ``O(log)`` pop.
- A job starting or ending changes only its account's factor, so only that account's
  queues are re-keyed. See :mod:`.fairshare` for the pool-wide normaliser.
- Effective usage counts running jobs: a start charges its expected billing units at once,
  replaced by the real usage when it ends, so two equal accounts saturating a pool take
  turns instead of one winning every slot until its first job ends.

Blocked jobs follow EASY backfilling (:mod:`.shadow`): the best job that does not fit now
holds a reservation on the node where it fits soonest; lower jobs may use that node only
if they end first or fit beside it. Small jobs flow past a large one without pushing its
start back, and its age keeps counting.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from . import standings as _standings
from .estimates import RuntimeStats
from .fairshare import billing_units, fairshare_factor
from .placement import Free, first_fit, fits_somewhere, has_room, order_nodes
from .reserve import reserve_active
from .shadow import Reservation, ShadowIndex, end_entry
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

Shape = tuple[str, float, int, int, "str | None", float]
# Rescale stored usage before 2^(elapsed/half_life) could overflow a float.
_REBASE_HALF_LIVES = 512.0
_EPS = 1e-9


@dataclass(slots=True, eq=False)
class _Account:
    name: str
    tier: str
    shares: float
    recorded: float = 0.0  # decayed usage, scaled to the reference time
    pending: float = 0.0  # expected usage of running jobs, same scale
    queues: list[_Queue] = field(default_factory=list)
    epoch: int = 0  # bumped when its factor fell and its queues were left to re-key lazily


@dataclass(slots=True, eq=False)
class _Queue:
    account: _Account
    shape: _Shape
    jobs: list[tuple[float, str]] = field(default_factory=list)
    version: int = 0
    epoch: int = 0  # the account epoch its live heap entry was keyed at


@dataclass(slots=True, eq=False)
class _Shape:
    key: Shape
    newcomer: bool
    heaps: tuple[list, list] = field(default_factory=lambda: ([], []))  # young, old
    listed: list = field(default_factory=lambda: [None, None])  # the entry standing for it in the tops
    blocked: int = 0  # the decision stamp it was set aside in


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
        self._free: dict[str, Free] = {}
        self._open: list[Node] = []
        self._used: dict[str, Free] = {}
        self._ends: dict[str, list[tuple]] = {}  # per node: (expected end, id, cpus, memory, gpus), sorted
        self._fits: dict[Shape, bool] = {}
        self._alike: dict[tuple, list[_Shape]] = {}
        self._capacity: Free = (0.0, 0, 0)
        self._shadows = ShadowIndex()
        self._accounts: dict[str, _Account] = {}
        self._queued: dict[str, QueuedJob] = {}
        self._queue_of: dict[str, _Queue] = {}
        self._queues: dict[tuple[str, Shape], _Queue] = {}
        self._shapes: dict[Shape, _Shape] = {}
        self._tops: dict[tuple[bool, int], list] = {(n, k): [] for n in (True, False) for k in (0, 1)}
        self._aging: list = []
        self._stamp = 1  # odd while no decision runs, so no shape counts as blocked
        self._aside: list[tuple[tuple, int]] = []
        self._larger: dict[tuple, list[_Shape]] = {}
        self._rank: dict[str, int] = {}
        self._running: dict[str, tuple[RunningJob, float]] = {}
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
        self._snapshot: _standings.Snapshot | None = None

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

    # ----------------------------------------------------------------- telling it what happens

    def set_nodes(self, nodes: Sequence[Node], sites: Mapping[str, SiteState]) -> None:
        """Replace the pool's capacity; jobs running on vanished nodes stay tracked."""
        self._nodes = list(nodes)
        self._ordered = order_nodes(self._nodes, sites)
        self._free = {}
        for node in self._ordered:
            used = self._used.get(node.name, (0.0, 0, 0))
            self._free[node.name] = (node.cpus - used[0], node.memory - used[1], node.gpus - used[2])
        self._rank = {node.name: i for i, node in enumerate(self._ordered)}
        self._open = [node for node in self._ordered if self._free[node.name][0] > _EPS]
        self._capacity = (
            sum(n.cpus for n in self._nodes),
            sum(n.memory for n in self._nodes),
            sum(n.gpus for n in self._nodes),
        )
        self._fits = {}
        self._shadows.reset(self._ordered)
        self._changed()

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
        acc = self._account(job.account, job.tier)
        key: Shape = (job.tier, float(job.cpus), int(job.memory), int(job.gpus), job.site, float(job.expected_seconds))
        queue = self._queues.get((acc.name, key))
        if queue is None:
            shape = self._shapes.get(key)
            if shape is None:
                shape = self._shapes[key] = _Shape(key, job.tier == self.config.newcomer_tier)
                self._alike.setdefault(key[1:5], []).append(shape)
                self._larger = {}
            queue = self._queues[(acc.name, key)] = _Queue(acc, shape)
            acc.queues.append(queue)
        old_head = self._head(queue)
        entry = (job.submitted_at, job.id)
        heapq.heappush(queue.jobs, entry)
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

    def decide(self, now: float) -> list[Start]:
        """Every start that should happen now, in priority order; started jobs become running."""
        self._time(now)
        self._age(now)
        self._stamp += 1
        starts: list[Start] = []
        blocked_job: QueuedJob | None = None
        reservation: Reservation | None = None
        looked = 0
        while self._open and looked <= self.config.backfill_depth:
            best = self._best(now)
            if best is None:
                break
            entry, kind = best
            queue = entry[4]
            job = self._queued[entry[2]]
            fitting = node = first_fit(job, self._open, self._free)
            if node is not None and blocked_job is not None:
                if reservation is None:
                    reservation = self._reserve(blocked_job, now)
                if reservation is not None and node.name == reservation.node:
                    node = self._backfill(job, node, reservation, now)
            if node is None:
                if blocked_job is None and self._fits_somewhere(job):
                    blocked_job = job
                if fitting is None:  # nothing this size or larger fits now, whatever its length
                    self._block_at_least(queue.shape.key[1:5])
                else:  # it fits only on the reserved node: so would nothing as large and as long
                    self._block_at_least(queue.shape.key[1:5], job.expected_seconds)
                looked += 1
                continue
            starts.append(self._start(job, node, now))
        self._stamp += 1
        self._unblock()
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

    def why(self, job_id: str, now: float, ahead: int = 5) -> dict:
        """A queued job's standing with the ``ahead`` jobs just before it, anonymised."""
        snap = self._snap(now)
        mine = snap.get(job_id)
        if mine is None:
            return {}
        before = []
        for other in snap.order[max(mine.position - 1 - ahead, 0) : mine.position - 1]:
            st = snap.get(other)
            before.append(
                {"position": st.position, "tier": self._queued[other].tier, "priority": st.components["priority"], "components": dict(st.components)}
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
        snap = self._snap(now)
        rows = []
        for job_id in snap.order:
            job = self._queued[job_id]
            st = snap.get(job_id)
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
        self._running = {k: (job, charge * shrink) for k, (job, charge) in self._running.items()}
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

    def _account_changed(self, acc: _Account, before: float | None) -> None:
        """Re-key an account's queues: now if its factor may have risen, lazily if it fell.

        A fallen factor leaves its heap entries as upper bounds, which :meth:`_top` re-keys
        when they surface; that keeps a start from touching every queue of its account.
        """
        if self._drifted():
            self._renormalise()
        elif before is not None and self._factor(acc) <= before:
            acc.epoch += 1
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
        cfg = self.config
        factors = {name: self._factor(acc) for name, acc in self._accounts.items()}
        for shape in self._shapes.values():
            shape.heaps = ([], [])
        aging = []
        limit = self._now - cfg.max_age
        for queue in self._queues.values():
            queue.version += 1
            queue.epoch = queue.account.epoch
            head = self._head(queue)
            if head is None:
                continue
            t, job_id = head
            f = factors[queue.account.name]
            if cfg.max_age > 0 and t > limit:
                key = cfg.fairshare_weight * f - cfg.age_weight * t / cfg.max_age
                queue.shape.heaps[0].append((-key, t, job_id, queue.version, queue))
                aging.append((t, job_id, queue.version, queue))
            else:
                queue.shape.heaps[1].append((-(cfg.fairshare_weight * f + cfg.age_weight), t, job_id, queue.version, queue))
        heapq.heapify(aging)
        self._aging = aging
        tops: dict[tuple[bool, int], list] = {key: [] for key in self._tops}
        for shape in self._shapes.values():
            for kind in (0, 1):
                heapq.heapify(shape.heaps[kind])
                top = shape.heaps[kind][0] if shape.heaps[kind] else None
                shape.listed[kind] = top
                if top is not None:
                    tops[(shape.newcomer, kind)].append(top)
        for key, heap in tops.items():
            heapq.heapify(heap)
            self._tops[key] = heap
        self._aside = []

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
        queue.epoch = queue.account.epoch
        head = self._head(queue)
        if head is None:
            return
        t, job_id = head
        cfg = self.config
        f = self._factor(queue.account)
        if cfg.max_age > 0 and t > self._now - cfg.max_age:
            key = cfg.fairshare_weight * f - cfg.age_weight * t / cfg.max_age
            self._list(queue.shape, 0, (-key, t, job_id, queue.version, queue))
            heapq.heappush(self._aging, (t, job_id, queue.version, queue))
        else:
            self._list(queue.shape, 1, (-(cfg.fairshare_weight * f + cfg.age_weight), t, job_id, queue.version, queue))

    def _list(self, shape: _Shape, kind: int, entry: tuple) -> None:
        """Push a head into its shape; list it above the shapes if it beats the listed one.

        A shape set aside in this decision is listed too: it is set aside again when it
        surfaces, which costs less than keeping its listing out of the heap.
        """
        heapq.heappush(shape.heaps[kind], entry)
        listed = shape.listed[kind]
        if listed is None or entry < listed:
            shape.listed[kind] = entry
            heapq.heappush(self._tops[(shape.newcomer, kind)], entry)

    def _age(self, now: float) -> None:
        """Move heads that reached ``max_age`` to the saturated heaps."""
        limit = now - self.config.max_age
        aging = self._aging
        while aging and aging[0][0] <= limit:
            _, _, version, queue = heapq.heappop(aging)
            if version == queue.version:
                self._index(queue)

    def _top(self, heap: list) -> tuple | None:
        """A heap's best live entry, re-keying entries whose account's factor fell since."""
        while heap:
            entry = heap[0]
            queue = entry[4]
            if entry[3] != queue.version:
                heapq.heappop(heap)
            elif queue.epoch != queue.account.epoch:
                self._index(queue)
            else:
                return entry
        return None

    def _top_of(self, newcomer: bool, kind: int) -> tuple | None:
        """The best live head of one tier class and age kind, cleaning stale listings.

        A listing of a shape set aside in this decision leaves the heap until the decision
        ends (:meth:`_unblock`), so only shapes that surface cost anything to set aside.
        """
        tops = self._tops[(newcomer, kind)]
        stamp = self._stamp
        while tops:
            entry = tops[0]
            shape = entry[4].shape
            if entry is not shape.listed[kind]:
                heapq.heappop(tops)
                continue
            if shape.blocked == stamp:
                heapq.heappop(tops)
                self._aside.append((entry, kind))
                continue
            queue = entry[4]
            heap = shape.heaps[kind]
            if heap[0] is entry and entry[3] == queue.version and queue.epoch == queue.account.epoch:
                return entry  # the common case, without a call
            current = self._top(heap)
            if current is entry:
                return entry
            heapq.heappop(tops)
            shape.listed[kind] = current
            if current is not None:
                heapq.heappush(tops, current)
        return None

    def _best(self, now: float) -> tuple[tuple, int] | None:
        """The queue whose head goes next: reserve first, then priority, submission, id."""
        cfg = self.config
        lift = reserve_active(self._newcomers_waiting > 0, self._newcomer_cpus, self._capacity[0], cfg.newcomer_reserve)
        shift = cfg.age_weight * now / cfg.max_age if cfg.max_age > 0 else 0.0
        best_rank: tuple | None = None
        best: tuple[tuple, int] | None = None
        for newcomer in (True, False):
            boost = -1 if lift and newcomer else 0
            for kind in (0, 1):
                entry = self._top_of(newcomer, kind)
                if entry is None:
                    continue
                rank = (boost, entry[0] - (shift if kind == 0 else 0.0), entry[1], entry[2])
                if best_rank is None or rank < best_rank:
                    best_rank, best = rank, (entry, kind)
        return best

    def _block_at_least(self, size: tuple, seconds: float = 0.0) -> None:
        """Set aside, for the rest of this decision, every shape at least this large (and
        this long) at the same place: none of them can start now either."""
        larger = self._larger.get((size, seconds))
        if larger is None:
            cpus, memory, gpus, site = size
            larger = self._larger[(size, seconds)] = [
                shape
                for (c, m, g, where), shapes in self._alike.items()
                if c >= cpus and m >= memory and g >= gpus and (site is None or where == site)
                for shape in shapes
                if shape.key[5] >= seconds
            ]
        stamp = self._stamp
        for shape in larger:
            shape.blocked = stamp

    def _unblock(self) -> None:
        """List again the shapes whose listing was set aside, unless a newer one replaced it."""
        aside, self._aside = self._aside, []
        for entry, kind in aside:
            shape = entry[4].shape
            if shape.listed[kind] is entry:
                current = self._top(shape.heaps[kind])
                shape.listed[kind] = current
                if current is not None:
                    heapq.heappush(self._tops[(shape.newcomer, kind)], current)

    def _unqueue(self, job_id: str) -> QueuedJob:
        job = self._queued.pop(job_id)
        queue = self._queue_of.pop(job_id)
        if queue.shape.newcomer:
            self._newcomers_waiting -= 1
        return job

    def _fits_somewhere(self, job: QueuedJob) -> bool:
        key = self._queue_of[job.id].shape.key
        fits = self._fits.get(key)
        if fits is None:
            fits = self._fits[key] = fits_somewhere(job, self._nodes)
        return fits

    # ----------------------------------------------------------------- internals: resources

    def _start(self, job: QueuedJob, node: Node, now: float) -> Start:
        self._unqueue(job.id)
        run = RunningJob(job.id, job.account, job.tier, job.cpus, job.memory, job.gpus, node.name, now, job.expected_seconds)
        acc = self._accounts[job.account]
        before = self._factor(acc)
        self._account_changed(self._hold(run), before)
        return Start(job.id, node.name, node.site)

    def _hold(self, job: RunningJob) -> _Account:
        acc = self._account(job.account, job.tier)
        charge = billing_units(job.cpus, job.memory, job.gpus, job.expected_seconds, self.config) * self._scale(job.started_at)
        self._running[job.id] = (job, charge)
        bisect.insort(self._ends.setdefault(job.node, []), end_entry(job))
        acc.pending += charge
        self._total_usage += charge
        self._use(job.node, job.cpus, job.memory, job.gpus)
        if job.tier == self.config.newcomer_tier:
            self._newcomer_cpus += job.cpus
        return acc

    def _release(self, job_id: str, usage: float, now: float | None) -> None:
        job, charge = self._running.pop(job_id)
        ends = self._ends[job.node]
        del ends[bisect.bisect_left(ends, end_entry(job))]
        acc = self._accounts[job.account]
        before = self._factor(acc)
        acc.pending = max(acc.pending - charge, 0.0)
        self._total_usage -= charge
        if now is not None and usage > 0:
            scaled = usage * self._scale(now)
            acc.recorded += scaled
            self._total_usage += scaled
            self._runtimes.observe(job.account, job.expected_seconds, now - job.started_at)
        self._use(job.node, -job.cpus, -job.memory, -job.gpus)
        if job.tier == self.config.newcomer_tier:
            self._newcomer_cpus -= job.cpus
        self._account_changed(acc, before)

    def _use(self, name: str, cpus: float, memory: int, gpus: int) -> None:
        used = self._used.get(name, (0.0, 0, 0))
        self._used[name] = (used[0] + cpus, used[1] + memory, used[2] + gpus)
        self._shadows.touch(name)
        free = self._free.get(name)
        if free is None:
            return
        was_open = free[0] > _EPS
        free = (free[0] - cpus, free[1] - memory, free[2] - gpus)
        self._free[name] = free
        if was_open != (free[0] > _EPS):
            rank = self._rank
            node = self._ordered[rank[name]]
            if was_open:
                self._open.remove(node)
            else:
                bisect.insort(self._open, node, key=lambda n: rank[n.name])

    def _reserve(self, job: QueuedJob, now: float) -> Reservation | None:
        return self._shadows.reserve((job.cpus, job.memory, job.gpus, job.site), now, self._free, self._ends)

    def _backfill(self, job: QueuedJob, node: Node, res: Reservation, now: float) -> Node | None:
        """The node a lower job may take without delaying the reserved one, if any."""
        if now + job.expected_seconds <= res.shadow:
            return node
        if has_room(res.extra, job.cpus, job.memory, job.gpus):
            res.extra[0] -= job.cpus
            res.extra[1] -= job.memory
            res.extra[2] -= job.gpus
            return node
        return first_fit(job, self._open, self._free, exclude=res.node)

    # ----------------------------------------------------------------- internals: standings

    def _changed(self) -> None:
        self._version += 1

    def _snap(self, now: float) -> _standings.Snapshot:
        snap = self._snapshot
        if snap is not None and snap.version == self._version and abs(now - snap.now) <= self.config.standing_staleness:
            return snap
        cfg = self.config
        lift = reserve_active(self._newcomers_waiting > 0, self._newcomer_cpus, self._capacity[0], cfg.newcomer_reserve)
        factors = {name: self._factor(acc) for name, acc in self._accounts.items()}
        snap = self._snapshot = _standings.build(
            self._version, now, cfg, self._queued.values(), (job for job, _ in self._running.values()),
            factors, lift, self._capacity, self._runtimes,
        )
        return snap

