"""The queued jobs' order: which waiting job is next, in ``O(log)`` per question.

The scheduler owns usage and :mod:`.capacity` the nodes; this module owns the heaps that turn fair share
and age into "the next job to try". Three levels, each holding the best of the level
below, so a job becoming the head of its queue touches one heap per level at most:

- A *queue* is one account's FIFO of one *shape* (tier, CPUs, memory, GPUs, site,
  expected run time). Its jobs share the account's factor, so the oldest is its best.
- A *shape* keeps its queues' heads in two heaps. A head younger than ``max_age`` has
  priority ``wF*F - wA*submitted/max_age + wA*now/max_age``; the last term is common to
  all, so the key without it never changes as time passes. An older head has the
  time-free priority ``wF*F + wA``. Heads move to the second heap as they reach
  ``max_age`` (a heap by submission time says when).
- A *group* gathers the shapes of one tier class and size (CPUs, memory, GPUs, site),
  which differ only in run time; one heap per tier class and age kind lists each group's
  best head.

Why groups: within one decision a job that cannot start sets aside everything at least
its size (:meth:`HeadIndex.block_at_least`), and those shapes would otherwise surface and
be set aside one by one, several per size. A group is set aside whole, with one pop; only
the rarer "this long or longer" case sets shapes aside inside their group.

The records are in :mod:`.queues`. Entries are ``(-key, submitted, job id, queue version,
queue)``; ties break by submission then id, and a later version of the same queue makes
older entries stale. Stale entries are dropped when they surface, and an entry that
stands for a shape or group (its *listing*) is only ever a lower bound of what it stands
for, so a listing found valid at the top of a heap is the true best of everything beneath
it.
"""

from __future__ import annotations

import heapq

from .queues import Account, Aging, Entry, Group, Queue, Shape, ShapeHeaps, Size
from .types import PolicyConfig, QueuedJob

_heappush = heapq.heappush
_heappop = heapq.heappop


class HeadIndex:
    """Queued jobs by queue, shape and group, and the heaps that order their heads.

    ``queued`` and ``queue_of`` are shared with the scheduler: a job is live in a queue
    while both say so, which is how heads of removed or started jobs are recognised.
    """

    def __init__(self, config: PolicyConfig) -> None:
        self.config = config
        self.queued: dict[str, QueuedJob] = {}
        self.queue_of: dict[str, Queue] = {}
        self.queues: dict[tuple[str, Shape], Queue] = {}
        self.shapes: dict[Shape, ShapeHeaps] = {}
        self.groups: dict[tuple[bool, Size], Group] = {}
        self.now = float("-inf")  # the latest time seen, which decides young or old on re-keying
        self._tops: dict[tuple[bool, int], list[Entry]] = {(n, k): [] for n in (True, False) for k in (0, 1)}
        # The four tops in the order best() visits them; the lists are only ever mutated.
        self._classes = [(n, k, self._tops[(n, k)]) for n in (True, False) for k in (0, 1)]
        self._aging: list[Aging] = []
        self._stamp = 1  # odd while no decision runs, so nothing counts as blocked
        self._groups_aside: list[tuple[Entry, int]] = []
        self._shapes_aside: list[tuple[Entry, int]] = []
        self._larger: dict[tuple[Size, float], tuple[list[Group], list[ShapeHeaps]]] = {}
        self._newcomer_tier = config.newcomer_tier
        self._young = config.max_age > 0
        self._wf = config.fairshare_weight
        self._wa = config.age_weight
        self._max_age = config.max_age

    # ----------------------------------------------------------------- adding and removing

    def add(self, job: QueuedJob, acc: Account) -> Queue:
        """Queue a job (not yet in ``queued``) and re-list its queue if it became the head."""
        key: Shape = (job.tier, float(job.cpus), int(job.memory), int(job.gpus), job.site, float(job.expected_seconds))
        queue = self.queues.get((acc.name, key))
        if queue is None:
            shape = self.shapes.get(key)
            if shape is None:
                newcomer = job.tier == self._newcomer_tier
                size = key[1:5]
                group = self.groups.get((newcomer, size))
                if group is None:
                    group = self.groups[(newcomer, size)] = Group(size, newcomer)
                shape = self.shapes[key] = ShapeHeaps(key, group)
                self._larger = {}
            queue = self.queues[(acc.name, key)] = Queue(acc, shape)
            acc.queues.append(queue)
        old_head = self.head(queue)
        entry = (job.submitted_at, job.id)
        _heappush(queue.jobs, entry)
        self.queued[job.id] = job
        self.queue_of[job.id] = queue
        if old_head is None or entry < old_head:
            self.index(queue)
        return queue

    def head(self, queue: Queue) -> tuple[float, str] | None:
        """A queue's oldest live job, dropping entries of jobs that left it."""
        jobs = queue.jobs
        queue_of = self.queue_of
        while jobs:
            t, job_id = first = jobs[0]
            if queue_of.get(job_id) is queue and self.queued[job_id].submitted_at == t:
                return first
            _heappop(jobs)
        return None

    # ----------------------------------------------------------------- keys

    def index(self, queue: Queue) -> None:
        """(Re)insert a queue's head into its shape's heaps under its account's current factor."""
        queue.version += 1
        acc = queue.account
        queue.epoch = acc.epoch
        jobs = queue.jobs
        if not jobs:
            return
        t, job_id = jobs[0]
        if self.queue_of.get(job_id) is not queue or self.queued[job_id].submitted_at != t:  # head() inlined
            head = self.head(queue)
            if head is None:
                return
            t, job_id = head
        if self._young and t > self.now - self._max_age:
            entry = (self._wa * t / self._max_age - self._wf * acc.factor, t, job_id, queue.version, queue)
            self._list(queue.shape, 0, entry)
            aging = queue.aging
            if aging is None or aging[1] != job_id or aging[0] != t:  # re-keying the same head keeps its date
                queue.aging = aging = (t, job_id, queue.version, queue)
                _heappush(self._aging, aging)
        else:
            self._list(queue.shape, 1, (-(self._wf * acc.factor + self._wa), t, job_id, queue.version, queue))

    def _list(self, shape: ShapeHeaps, kind: int, entry: Entry) -> None:
        """Push a head into its shape; list it in the group, and the group in the tops, where it
        beats the listing there.

        A shape or group set aside in this decision is listed too: it is set aside again
        when it surfaces, which costs less than keeping its listing out of the heap.
        """
        _heappush(shape.heaps[kind], entry)
        listed = shape.listed[kind]
        if listed is None or entry < listed:
            shape.listed[kind] = entry
            group = shape.group
            _heappush(group.heaps[kind], entry)
            listed = group.listed[kind]
            if listed is None or entry < listed:
                group.listed[kind] = entry
                _heappush(self._tops[(group.newcomer, kind)], entry)

    def age(self, now: float) -> None:
        """Move heads that reached ``max_age`` to the saturated heaps.

        A queue has at most one live entry here, for the head it last listed as young; a
        head re-keyed while young keeps that entry, since its date did not change.
        """
        self.now = max(self.now, now)
        limit = now - self._max_age
        aging = self._aging
        while aging and aging[0][0] <= limit:
            item = _heappop(aging)
            queue = item[3]
            if queue.aging is item:
                queue.aging = None
                self.index(queue)

    def rebuild(self) -> None:
        """Re-key every queue from its account's factor; after the normaliser changed."""
        wf, wa, max_age = self._wf, self._wa, self.config.max_age
        young = self._young
        limit = self.now - self.config.max_age
        for shape in self.shapes.values():
            shape.heaps = ([], [])
        fresh: list[Aging] = []
        head = self.head
        queue_of, queued = self.queue_of, self.queued
        # One pass over every queue: the head check of head() is inlined for the common case.
        for queue in self.queues.values():
            queue.version = version = queue.version + 1
            acc = queue.account
            queue.epoch = acc.epoch
            jobs = queue.jobs
            if not jobs:
                continue
            t, job_id = jobs[0]
            if queue_of.get(job_id) is not queue or queued[job_id].submitted_at != t:
                first = head(queue)
                if first is None:
                    continue
                t, job_id = first
            if young and t > limit:
                queue.shape.heaps[0].append((wa * t / max_age - wf * acc.factor, t, job_id, version, queue))
                item = queue.aging
                if item is None or item[1] != job_id or item[0] != t:
                    queue.aging = item = (t, job_id, version, queue)
                    fresh.append(item)
            else:
                queue.aging = None
                queue.shape.heaps[1].append((-(wf * acc.factor + wa), t, job_id, version, queue))
        # Aging entries hold dates, not keys, so the live ones are kept rather than remade:
        # a burst of fresh objects this large would trigger a full garbage collection.
        aging = [item for item in self._aging if item[3].aging is item]
        aging += fresh
        heapq.heapify(aging)
        self._aging = aging
        for group in self.groups.values():
            group.heaps = ([], [])
        for shape in self.shapes.values():
            for kind in (0, 1):
                heap = shape.heaps[kind]
                heapq.heapify(heap)
                top = shape.listed[kind] = heap[0] if heap else None
                if top is not None:
                    shape.group.heaps[kind].append(top)
        for tops in self._tops.values():
            tops.clear()
        for group in self.groups.values():
            for kind in (0, 1):
                heap = group.heaps[kind]
                heapq.heapify(heap)
                top = group.listed[kind] = heap[0] if heap else None
                if top is not None:
                    self._tops[(group.newcomer, kind)].append(top)
        for tops in self._tops.values():
            heapq.heapify(tops)
        self._groups_aside = []
        self._shapes_aside = []

    # ----------------------------------------------------------------- the next job

    def best(self, now: float, lift: bool) -> Entry | None:
        """The entry whose job goes next: reserve first, then priority, submission, id.

        The check that a top is live is repeated here from :meth:`_top_of` so that the
        common case, a top that is still valid, costs no call.
        """
        shift = self._wa * now / self._max_age if self._young else 0.0
        stamp = self._stamp
        best_rank: tuple[int, float, float, str] | None = None
        best: Entry | None = None
        for newcomer, kind, tops in self._classes:
            if not tops:
                continue
            entry = tops[0]
            queue = entry[4]
            shape = queue.shape
            group = shape.group
            if not (
                entry is group.listed[kind]
                and group.blocked != stamp
                and group.heaps[kind][0] is entry
                and shape.listed[kind] is entry
                and shape.blocked != stamp
                and shape.heaps[kind][0] is entry
                and entry[3] == queue.version
                and queue.epoch == queue.account.epoch
            ):
                top = self._top_of(tops, kind)
                if top is None:
                    continue
                entry = top
            rank = (-1 if lift and newcomer else 0, entry[0] - shift if kind == 0 else entry[0], entry[1], entry[2])
            if best_rank is None or rank < best_rank:
                best_rank, best = rank, entry
        return best

    def _top_of(self, tops: list[Entry], kind: int) -> Entry | None:
        """The best live head of one tier class and age kind, cleaning stale listings.

        A group set aside in this decision leaves the heap until the decision ends
        (:meth:`end`), so only groups that surface cost anything to set aside.
        """
        stamp = self._stamp
        while tops:
            entry = tops[0]
            queue = entry[4]
            shape = queue.shape
            group = shape.group
            if entry is not group.listed[kind]:
                _heappop(tops)
                continue
            if group.blocked == stamp:
                _heappop(tops)
                self._groups_aside.append((entry, kind))
                continue
            if (
                group.heaps[kind][0] is entry
                and shape.listed[kind] is entry
                and shape.blocked != stamp
                and shape.heaps[kind][0] is entry
                and entry[3] == queue.version
                and queue.epoch == queue.account.epoch
            ):
                return entry  # the common case, without a call
            current = self._group_top(group, kind)
            if current is entry:
                return entry
            _heappop(tops)
            group.listed[kind] = current
            if current is not None:
                _heappush(tops, current)
        return None

    def _group_top(self, group: Group, kind: int) -> Entry | None:
        """A group's best live head, setting aside shapes blocked in this decision."""
        heap = group.heaps[kind]
        stamp = self._stamp
        while heap:
            entry = heap[0]
            shape = entry[4].shape
            if entry is not shape.listed[kind]:
                _heappop(heap)
                continue
            if shape.blocked == stamp:
                _heappop(heap)
                self._shapes_aside.append((entry, kind))
                continue
            current = self._top(shape.heaps[kind])
            if current is entry:
                return entry
            _heappop(heap)
            shape.listed[kind] = current
            if current is not None:
                _heappush(heap, current)
        return None

    def _top(self, heap: list[Entry]) -> Entry | None:
        """A shape heap's best live entry, re-keying entries whose account's factor fell since.

        A re-keyed entry is no better than the one it replaces, so it never displaces a
        listing above it.
        """
        while heap:
            entry = heap[0]
            queue = entry[4]
            if entry[3] != queue.version:
                _heappop(heap)
            elif queue.epoch != queue.account.epoch:
                self.index(queue)
            else:
                return entry
        return None

    # ----------------------------------------------------------------- one decision

    def begin(self) -> None:
        """A decision starts: nothing is set aside yet."""
        self._stamp += 1

    def block_at_least(self, size: Size, seconds: float = 0.0) -> None:
        """Set aside, for the rest of this decision, every shape at least this large (and,
        when ``seconds`` is given, this long) at the same place: none of them can start now.

        Without a length the shapes' groups go whole, which is the common case.
        """
        larger = self._larger.get((size, seconds))
        if larger is None:
            cpus, memory, gpus, site = size

            def covers(other: Size) -> bool:
                c, m, g, where = other
                return c >= cpus and m >= memory and g >= gpus and (site is None or where == site)

            if seconds == 0.0:
                larger = ([g for g in self.groups.values() if covers(g.size)], [])
            else:
                larger = ([], [s for s in self.shapes.values() if covers(s.group.size) and s.key[5] >= seconds])
            self._larger[(size, seconds)] = larger
        stamp = self._stamp
        for group in larger[0]:
            group.blocked = stamp
        for shape in larger[1]:
            shape.blocked = stamp

    def end(self) -> None:
        """A decision ended: list again what was set aside, unless a newer listing replaced it.

        A listing goes back as it was; if it went stale meanwhile it is only a lower bound,
        which the next look at the top resolves.
        """
        self._stamp += 1
        tops = self._tops
        shapes_aside, self._shapes_aside = self._shapes_aside, []
        for entry, kind in shapes_aside:
            shape = entry[4].shape
            if shape.listed[kind] is entry:
                group = shape.group
                _heappush(group.heaps[kind], entry)
                listed = group.listed[kind]
                if listed is None or entry < listed:
                    group.listed[kind] = entry
                    _heappush(tops[(group.newcomer, kind)], entry)
        groups_aside, self._groups_aside = self._groups_aside, []
        for entry, kind in groups_aside:
            group = entry[4].shape.group
            if group.listed[kind] is entry:
                _heappush(tops[(group.newcomer, kind)], entry)
