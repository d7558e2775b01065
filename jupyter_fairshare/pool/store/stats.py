"""Published figures: wait-time percentiles, acceptance rates and utilisation.

Computed from the store (the ``waits`` and ``admissions`` records) over sliding windows, per
tier and per site, so anyone can check how the pool treats each kind of user.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, func, select

from .tables import admissions, waits

WINDOWS = {"1h": 3600.0, "24h": 86400.0, "7d": 7 * 86400.0}


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0..100) by linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def published(connection: Connection, now: float, capacity_cpus: float, busy_cpus: float) -> dict[str, Any]:
    """The published figures over each window in ``WINDOWS``, as ``/api/v1/public/stats`` shows them."""
    out: dict[str, Any] = {"utilisation_now": busy_cpus / capacity_cpus if capacity_cpus else None, "windows": {}}
    for label, span in WINDOWS.items():
        since = now - span
        groups: dict[tuple[str, str], list[float]] = defaultdict(list)
        errors: dict[str, list[tuple[float, float]]] = defaultdict(list)
        run_seconds = 0.0
        for tier, site, wait, run, predicted, uncertainty in connection.execute(
            select(waits.c.tier, waits.c.site, waits.c.wait, waits.c.run, waits.c.predicted_wait,
                   waits.c.predicted_uncertainty).where(waits.c.ts >= since)
        ):
            groups[(tier, site)].append(wait)
            run_seconds += run or 0.0
            if predicted is not None:
                errors[tier].append((wait - predicted, uncertainty or 0.0))
        acceptance: dict[str, dict[str, Any]] = defaultdict(lambda: {"accepted": 0, "refused": 0, "reasons": {}})
        for tier, accepted, reason, count in connection.execute(
            select(admissions.c.tier, admissions.c.accepted, admissions.c.reason, func.count())
            .where(admissions.c.ts >= since)
            .group_by(admissions.c.tier, admissions.c.accepted, admissions.c.reason)
        ):
            entry = acceptance[tier]
            if accepted:
                entry["accepted"] += count
            else:
                entry["refused"] += count
                entry["reasons"][reason or "other"] = entry["reasons"].get(reason or "other", 0) + count
        for entry in acceptance.values():
            total = entry["accepted"] + entry["refused"]
            entry["rate"] = entry["accepted"] / total if total else None
        out["windows"][label] = {
            "waits": [
                {"tier": tier, "site": site, "jobs": len(values), "p50": percentile(values, 50),
                 "p90": percentile(values, 90), "p99": percentile(values, 99)}
                for (tier, site), values in sorted(groups.items())
            ],
            "acceptance": dict(acceptance),
            "utilisation": min(run_seconds / (capacity_cpus * span), 1.0) if capacity_cpus else None,
            "estimates": {
                tier: {"jobs": len(pairs), "median_error": percentile([e for e, _ in pairs], 50),
                       "median_abs_error": percentile([abs(e) for e, _ in pairs], 50),
                       "within_uncertainty": sum(abs(e) <= u for e, u in pairs) / len(pairs)}
                for tier, pairs in sorted(errors.items())
            },
        }
    return out
