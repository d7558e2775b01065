"""Expected start times: how long each account's jobs really run, and when each queued job starts.

Two pieces, both pure:

- :class:`RuntimeStats` learns, per account, how actual run times compare with the
  ``expected_seconds`` its jobs declare (an exponentially weighted mean and spread of the
  ratio), so estimates correct for accounts that always over- or under-declare.
- :func:`walk` replays the queue forward on the pool's aggregate capacity: running jobs
  release their resources at their expected ends; queued jobs, in the order they would
  start, take resources as soon as enough is free. Newcomer jobs are taken first while the
  newcomer tier holds less than its reserve, so the estimate sees the reserve being
  restored as running jobs end. Sites and node boundaries are ignored (the estimate is an
  aggregate), and backfill is not assumed, so estimates lean late.

The uncertainty of a start is the spread of the sum of the run times that must end before
it: with ``m`` such ends of relative spread ``cv``, the wait's relative spread is
``cv / sqrt(m)``.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import Any

_ALPHA = 0.2
_PRIOR_CV = 0.5
_MIN_RATIO, _MAX_RATIO = 0.05, 20.0


class RuntimeStats:
    """Per-account correction of declared run times, learned from finished jobs."""

    def __init__(self) -> None:
        self._stats: dict[str, tuple[float, float]] = {}

    def observe(self, account: str, expected: float, actual: float) -> None:
        """Record one finished run of ``actual`` seconds that declared ``expected``."""
        if expected <= 0 or actual < 0:
            return
        ratio = min(max(actual / expected, _MIN_RATIO), _MAX_RATIO)
        mean, var = self._stats.get(account, (1.0, _PRIOR_CV**2))
        delta = ratio - mean
        mean += _ALPHA * delta
        var = (1 - _ALPHA) * (var + _ALPHA * delta * delta)
        self._stats[account] = (mean, var)

    def scale(self, account: str) -> float:
        """The factor to multiply an account's declared run time by."""
        return self._stats.get(account, (1.0, 0.0))[0]

    def cv(self, account: str) -> float:
        """The relative spread of an account's run times around the corrected estimate."""
        mean, var = self._stats.get(account, (1.0, _PRIOR_CV**2))
        return math.sqrt(max(var, 0.0)) / mean if mean > 0 else _PRIOR_CV


# A queued job as the walk sees it: ``(-priority, submitted_at, id, cpus, memory, gpus,
# seconds, cv, ...)``. Plain tuples, because a snapshot makes one per queued job and the
# first three fields are the start order. The standings add fields of their own after
# these, so its length is not fixed.
Demand = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Release:
    """A running job's resources, free again at ``end``."""

    end: float
    cpus: float
    memory: int
    gpus: int
    newcomer: bool
    cv: float


def walk(
    now: float,
    capacity: tuple[float, int, int],
    running: list[Release],
    newcomers: list[Demand],
    others: list[Demand],
    reserve_cpus: float,
) -> tuple[list[Demand], list[float], list[float]]:
    """Every queued job in start order, with its expected start and that start's spread.

    ``newcomers`` and ``others`` must each be sorted (smaller starts first).
    A job larger than the whole capacity is estimated as if it fitted, so the numbers stay
    finite; the dispatcher refuses such jobs at submission.
    """
    cap_c, cap_m, cap_g = float(capacity[0]), float(capacity[1]), float(capacity[2])
    free = [cap_c, cap_m, cap_g]
    held = 0.0
    ends: list[tuple[float, int, float, int, int, bool, float]] = []
    for seq, rel in enumerate(running):
        free[0] -= rel.cpus
        free[1] -= rel.memory
        free[2] -= rel.gpus
        held += rel.cpus if rel.newcomer else 0.0
        ends.append((max(rel.end, now), seq, rel.cpus, rel.memory, rel.gpus, rel.newcomer, rel.cv))
    heapq.heapify(ends)
    seq = len(ends)
    ended = 0
    cv_sum = 0.0
    clock = now
    order: list[Demand] = []
    starts: list[float] = []
    spreads: list[float] = []
    pop, push, sqrt = heapq.heappop, heapq.heappush, math.sqrt
    n_new, n_old = len(newcomers), len(others)
    i = j = 0
    while i < n_new or j < n_old:
        while ends and ends[0][0] <= clock:
            ended, cv_sum, held = _release(pop(ends), free, ended, cv_sum, held)
        if i < n_new and (j >= n_old or held < reserve_cpus or newcomers[i] <= others[j]):
            demand, newcomer = newcomers[i], True
            i += 1
        else:
            demand, newcomer = others[j], False
            j += 1
        c, m, g = min(demand[3], cap_c), min(demand[4], cap_m), min(demand[5], cap_g)
        while ends and (free[0] < c or free[1] < m or free[2] < g):
            entry = pop(ends)
            if entry[0] > clock:
                clock = entry[0]
            ended, cv_sum, held = _release(entry, free, ended, cv_sum, held)
        free[0] -= c
        free[1] -= m
        free[2] -= g
        if newcomer:
            held += c
        order.append(demand)
        starts.append(clock)
        spreads.append((clock - now) * (cv_sum / ended) / sqrt(ended) if ended else 0.0)
        push(ends, (clock + demand[6], seq, c, m, g, newcomer, demand[7]))
        seq += 1
    return order, starts, spreads


def _release(
    entry: tuple[float, int, float, int, int, bool, float], free: list[float], ended: int, cv_sum: float, held: float
) -> tuple[int, float, float]:
    free[0] += entry[2]
    free[1] += entry[3]
    free[2] += entry[4]
    return ended + 1, cv_sum + entry[6], held - entry[2] if entry[5] else held
