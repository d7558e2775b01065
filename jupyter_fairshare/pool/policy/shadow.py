"""When a blocked job could start: the reservation behind EASY backfilling.

For a job that does not fit now, its *shadow time* on a node is when enough of that node's
running jobs will have ended (at their declared expected ends, as Slurm uses time limits)
for it to fit; its reservation is the node with the earliest shadow time. Lower jobs may
then use that node only if they end before the shadow time or fit in the room the
reserved job leaves there.

The scheduler keeps each node's running jobs sorted by expected end, so one node's shadow
time is a walk along that list without a sort.
A node's shadow time changes only when a job starts or ends on it, so it is cached per
request size and recomputed only for the nodes that changed since the last question:
one reservation costs ``O(changed nodes + log nodes)``, not a pass over every running job.
Clamping an overdue job's end to ``now`` keeps the order of ends, so the cache stores the
unclamped time and clamps on the way out.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .placement import Free, has_room
from .types import Node, RunningJob

Request = tuple[float, int, int, "str | None"]
# A running job as the shadow walk reads it: (expected end, id, cpus, memory, gpus).
End = tuple[float, str, float, int, int]
# Touched nodes are logged once and read by each board when it is next asked, instead of
# being added to every board's dirty set at every start and end; past this length the log
# is folded into the boards' sets so it stays short.
_LOG_LIMIT = 4096


@dataclass(slots=True)
class Reservation:
    """Where and when a blocked job is promised to start, and the room it leaves there."""

    node: str
    shadow: float
    extra: list[float]


@dataclass(slots=True)
class _Board:
    heap: list[tuple[float, int, int, str]] = field(default_factory=list)
    values: dict[str, tuple[int, float, tuple[float, float, float]]] = field(default_factory=dict)
    dirty: set[str] = field(default_factory=set)
    seen: int = 0  # how much of the index's touch log is already in ``dirty``


class ShadowIndex:
    """Per request size, every node's shadow time, kept current lazily."""

    def __init__(self) -> None:
        self._boards: dict[Request, _Board] = {}
        self._versions: dict[str, int] = {}
        self._rank: dict[str, int] = {}
        self._nodes: list[Node] = []
        self._log: list[str] = []

    def reset(self, ordered: Sequence[Node]) -> None:
        """Capacity changed: forget everything, remember the nodes in preference order."""
        self._boards = {}
        self._log = []
        self._nodes = list(ordered)
        self._rank = {node.name: i for i, node in enumerate(ordered)}

    def touch(self, node: str) -> None:
        """A job started or ended on ``node``."""
        self._versions[node] = self._versions.get(node, 0) + 1
        log = self._log
        log.append(node)
        if len(log) > _LOG_LIMIT:
            for board in self._boards.values():
                board.dirty.update(log[board.seen :])
                board.seen = 0
            log.clear()

    def reserve(
        self,
        request: Request,
        now: float,
        free: Mapping[str, Free],
        running: Mapping[str, Sequence[End]],
    ) -> Reservation | None:
        """The earliest reservation for a job of ``request``; ``None`` if no node could hold it.

        ``running`` lists, per node, ``(expected end, id, cpus, memory, gpus)`` in order.
        """
        board = self._boards.get(request)
        log = self._log
        if board is None:
            board = self._boards[request] = _Board()
            board.dirty = {node.name for node in self._nodes}
        elif board.seen < len(log):
            board.dirty.update(log[board.seen :])
        board.seen = len(log)
        for name in board.dirty:
            node = self._nodes[self._rank[name]] if name in self._rank else None
            if node is None or not _eligible(node, request):
                continue
            version = self._versions.get(name, 0)
            shadow, extra = _shadow(request, free[name], running.get(name, ()))
            board.values[name] = (version, shadow, extra)
            heapq.heappush(board.heap, (shadow, self._rank[name], version, name))
        board.dirty = set()
        heap = board.heap
        while heap:
            shadow, _, version, name = heap[0]
            current = board.values.get(name)
            if current is not None and current[0] == version and current[1] == shadow:
                return Reservation(name, max(shadow, now), list(current[2]))
            heapq.heappop(heap)
        return None


def end_entry(job: RunningJob) -> End:
    """A running job as the shadow walk reads it; a node's list of these is kept sorted."""
    return (job.started_at + job.expected_seconds, job.id, job.cpus, job.memory, job.gpus)


def _eligible(node: Node, request: Request) -> bool:
    cpus, memory, gpus, site = request
    return (site is None or node.site == site) and has_room((node.cpus, node.memory, node.gpus), cpus, memory, gpus)


def _shadow(request: Request, free: Free, ends: Sequence[End]) -> tuple[float, tuple[float, float, float]]:
    cpus, memory, gpus, _ = request
    c, m, g = float(free[0]), float(free[1]), float(free[2])
    shadow = -math.inf
    for end, _, jc, jm, jg in ends:
        if c >= cpus and m >= memory and g >= gpus:
            break
        shadow = end
        c += jc
        m += jm
        g += jg
    return shadow, (c - cpus, m - memory, g - gpus)
