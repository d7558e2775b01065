"""The newcomer reserve: a floor of capacity for the newcomer tier, not a fence.

While newcomer jobs wait and the newcomer tier holds less than ``newcomer_reserve`` of the
pool's CPUs, the next free capacity goes to newcomer jobs first. When no newcomer job
waits, the reserve is not held back: every tier may use it, so the pool stays
work-conserving. Without preemption the reserve is restored as running jobs end.
"""

from __future__ import annotations


def reserve_target(total_cpus: float, fraction: float) -> float:
    """The CPUs the newcomer tier is guaranteed while it has work waiting."""
    return max(total_cpus, 0.0) * min(max(fraction, 0.0), 1.0)


def reserve_active(newcomers_waiting: bool, newcomer_cpus: float, total_cpus: float, fraction: float) -> bool:
    """True when newcomer jobs should go first: they wait and hold less than their floor."""
    return newcomers_waiting and newcomer_cpus < reserve_target(total_cpus, fraction)
