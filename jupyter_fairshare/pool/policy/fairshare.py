"""Fair-share priority: decayed usage against shares, plus an age term.

We use Slurm's classic factor ``F = 2^(-U/S)``, where ``U`` is the account's share of all
(decayed) usage and ``S`` its share of all shares, and the job priority

    priority = fairshare_weight * F + age_weight * min(1, waited / max_age) (+ reserve)

Why the classic factor and not Fair Tree: our accounts are flat (no tree for Fair Tree's
level-by-level ranking to protect), and Fair Tree's factor is an account's *rank*, so one
account's usage change shifts the factor of every account ranked between its old and new
place, which rules out keeping accounts in a heap. The classic factor orders accounts by
``usage / shares`` alone; the pool-wide totals only set a common scale. The scheduler
therefore updates one account's key when its usage changes and rescales every key only
when the pool's total usage has drifted by ``PolicyConfig.renormalise`` (Slurm, likewise,
recomputes factors every ``PriorityCalcPeriod``, not per decision). It also reads well in
``why``: 1.0 is "used nothing", 0.5 is "used exactly its share".

Decay is exponential with ``half_life``. To decay every account at once for free, usage is
kept scaled to a reference time ``t0``: ``scaled = usage * 2^((t - t0) / half_life)``.
Ratios of scaled usages equal ratios of decayed usages at any moment, and ``U`` is a ratio.
"""

from __future__ import annotations

import math

from .types import PolicyConfig

_BYTES_PER_GB = 1e9


def decay(usage: float, since: float, now: float, half_life: float) -> float:
    """``usage`` recorded at ``since``, as it counts at ``now`` (halved every ``half_life``)."""
    if half_life <= 0:
        return 0.0 if now > since else usage
    return usage * math.pow(2.0, -(now - since) / half_life)


def billing_units(cpus: float, memory: int, gpus: int, seconds: float, config: PolicyConfig) -> float:
    """One number for a multi-resource allocation, weighted like Slurm's ``TRESBillingWeights``."""
    rate = cpus * config.cpu_weight + memory / _BYTES_PER_GB * config.memory_gb_weight + gpus * config.gpu_weight
    return rate * max(seconds, 0.0)


def fairshare_factor(usage: float, shares: float, total_usage: float, total_shares: float) -> float:
    """Slurm's classic ``2^(-U/S)``: 1.0 for no usage, 0.5 at exactly the account's share."""
    if usage <= 0 or total_usage <= 0:
        return 1.0
    if shares <= 0 or total_shares <= 0:
        return 0.0
    return math.pow(2.0, -(usage / total_usage) / (shares / total_shares))


def age_factor(waited: float, max_age: float) -> float:
    """How far a job has come towards the full age bonus (0..1); saturates at ``max_age``."""
    if max_age <= 0:
        return 1.0
    return min(1.0, max(waited, 0.0) / max_age)


def reserve_bonus(config: PolicyConfig) -> float:
    """The boost that puts a newcomer job ahead of every other job while the reserve is unmet."""
    return config.fairshare_weight + config.age_weight


def components(
    factor: float, waited: float, reserve_active: bool, config: PolicyConfig
) -> dict[str, float]:
    """The priority of one job, split into the parts the API shows."""
    age = age_factor(waited, config.max_age)
    parts = {
        "fairshare": config.fairshare_weight * factor,
        "age": config.age_weight * age,
        "reserve": reserve_bonus(config) if reserve_active else 0.0,
        "fairshare_factor": factor,
        "age_factor": age,
    }
    parts["priority"] = parts["fairshare"] + parts["age"] + parts["reserve"]
    return parts
