"""The records the head index orders: accounts, their queues, shapes and size groups.

Mutable on purpose, unlike :mod:`.types`: the scheduler and :mod:`.heads` update a
queue's version or an account's factor in place on every start, and a heap entry holds its
queue itself, so checking whether an entry is stale is a few attribute reads. ``eq=False``
keeps identity comparison, which is what those checks mean.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# A queue's shape: (tier, CPUs, memory, GPUs, site, expected seconds); a size drops tier and time.
Shape = tuple[str, float, int, int, "str | None", float]
Size = tuple[float, int, int, "str | None"]
# A queue's head in a heap: (-key, submitted, job id, queue version, queue); see :mod:`.heads`.
Entry = tuple[float, float, str, int, "Queue"]
# A queue's head in the aging heap: (submitted, job id, queue version, queue).
Aging = tuple[float, str, int, "Queue"]


def _pair() -> tuple[list[Entry], list[Entry]]:
    return ([], [])


def _unlisted() -> list[Entry | None]:
    return [None, None]


@dataclass(slots=True, eq=False)
class Account:
    """An account's usage, its cached fair-share factor and its queues."""

    name: str
    tier: str
    shares: float
    recorded: float = 0.0  # decayed usage, scaled to the reference time
    pending: float = 0.0  # expected usage of running jobs, same scale
    factor: float = 1.0  # fair-share factor against the current normaliser; see Scheduler._account_changed
    queues: list[Queue] = field(default_factory=list)
    epoch: int = 0  # bumped when its factor fell and its queues were left to re-key lazily


@dataclass(slots=True, eq=False)
class Queue:
    """One account's FIFO of one shape: ``(submitted, job id)`` in a heap."""

    account: Account
    shape: ShapeHeaps
    jobs: list[tuple[float, str]] = field(default_factory=list)
    version: int = 0
    epoch: int = 0  # the account epoch its live heap entry was keyed at
    aging: Aging | None = None  # its live entry in the aging heap


@dataclass(slots=True, eq=False)
class Group:
    """The shapes of one tier class and size, which differ only in expected run time."""

    size: Size
    newcomer: bool
    heaps: tuple[list[Entry], list[Entry]] = field(default_factory=_pair)  # shapes' listings: young, old
    listed: list[Entry | None] = field(default_factory=_unlisted)  # the entry standing for it in the tops
    blocked: int = 0  # the decision stamp it was set aside whole in


@dataclass(slots=True, eq=False)
class ShapeHeaps:
    """The heads of every queue of one shape."""

    key: Shape
    group: Group
    heaps: tuple[list[Entry], list[Entry]] = field(default_factory=_pair)  # queue heads: young, old
    listed: list[Entry | None] = field(default_factory=_unlisted)  # the entry standing for it in its group
    blocked: int = 0  # the decision stamp it was set aside in, apart from its group
