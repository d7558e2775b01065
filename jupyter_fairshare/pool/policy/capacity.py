"""What the pool's nodes have free now and when it frees up: the scheduler's resource side.

The scheduler decides who goes next; this keeps where a job can go. It holds each node's
free resources, the nodes with a CPU free (in placement order, so the first fit is the
preferred node), each node's running jobs sorted by expected end for the shadow walk of
:mod:`.shadow`, and what nodes that left still hold, so a node that comes back is not
counted free under jobs still running on it.

``free`` and ``open`` are only mutated in place between two :meth:`Capacity.set_nodes`
calls, so the scheduler may hold them through one decision.
"""

from __future__ import annotations

import bisect
from collections.abc import Hashable, Mapping, Sequence

from .placement import Free, first_fit, fits_somewhere, has_room, order_nodes
from .shadow import End, Reservation, ShadowIndex, end_entry
from .types import Node, QueuedJob, RunningJob, SiteState

# A node with less than this many CPUs free is full: float sums of fractional requests drift.
EPS = 1e-9


class Capacity:
    """Free resources per node, the nodes with room, and when running jobs are expected to end."""

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.ordered: list[Node] = []
        self.free: dict[str, Free] = {}
        self.open: list[Node] = []
        self.total: Free = (0.0, 0, 0)
        self._used: dict[str, Free] = {}
        self._ends: dict[str, list[End]] = {}  # per node, sorted by expected end
        self._rank: dict[str, int] = {}
        self._fits: dict[Hashable, bool] = {}
        self._shadows = ShadowIndex()

    def set_nodes(self, nodes: Sequence[Node], sites: Mapping[str, SiteState]) -> None:
        """Replace the pool's nodes; what running jobs hold on them stays counted."""
        self.nodes = list(nodes)
        self.ordered = order_nodes(self.nodes, sites)
        self.free = {}
        for node in self.ordered:
            used = self._used.get(node.name, (0.0, 0, 0))
            self.free[node.name] = (node.cpus - used[0], node.memory - used[1], node.gpus - used[2])
        self._rank = {node.name: i for i, node in enumerate(self.ordered)}
        self.open = [node for node in self.ordered if self.free[node.name][0] > EPS]
        self.total = (
            sum(n.cpus for n in self.nodes),
            sum(n.memory for n in self.nodes),
            sum(n.gpus for n in self.nodes),
        )
        self._fits = {}
        self._shadows.reset(self.ordered)

    def fits_somewhere(self, job: QueuedJob, shape: Hashable) -> bool:
        """Whether some present node could ever hold the job; cached per queue shape."""
        fits = self._fits.get(shape)
        if fits is None:
            fits = self._fits[shape] = fits_somewhere(job, self.nodes)
        return fits

    def hold(self, job: RunningJob) -> None:
        """A job starts holding its resources on its node."""
        bisect.insort(self._ends.setdefault(job.node, []), end_entry(job))
        self._use(job.node, job.cpus, job.memory, job.gpus)

    def release(self, job: RunningJob) -> None:
        """A job's resources are free again."""
        ends = self._ends[job.node]
        del ends[bisect.bisect_left(ends, end_entry(job))]
        self._use(job.node, -job.cpus, -job.memory, -job.gpus)

    def reserve(self, job: QueuedJob, now: float) -> Reservation | None:
        """Where and when the blocked ``job`` is promised to start (see :mod:`.shadow`)."""
        return self._shadows.reserve((job.cpus, job.memory, job.gpus, job.site), now, self.free, self._ends)

    def backfill(self, job: QueuedJob, node: Node, res: Reservation, now: float) -> Node | None:
        """The node a lower job may take without delaying the reserved one, if any."""
        if now + job.expected_seconds <= res.shadow:
            return node
        if has_room(res.extra, job.cpus, job.memory, job.gpus):
            res.extra[0] -= job.cpus
            res.extra[1] -= job.memory
            res.extra[2] -= job.gpus
            return node
        return first_fit(job, self.open, self.free, exclude=res.node)

    def _use(self, name: str, cpus: float, memory: int, gpus: int) -> None:
        used = self._used.get(name, (0.0, 0, 0))
        self._used[name] = (used[0] + cpus, used[1] + memory, used[2] + gpus)
        self._shadows.touch(name)
        free = self.free.get(name)
        if free is None:
            return
        was_open = free[0] > EPS
        free = (free[0] - cpus, free[1] - memory, free[2] - gpus)
        self.free[name] = free
        if was_open != (free[0] > EPS):
            rank = self._rank
            node = self.ordered[rank[name]]
            if was_open:
                self.open.remove(node)
            else:
                bisect.insort(self.open, node, key=lambda n: rank[n.name])
