"""Carbon-aware timing: may a job with a deadline wait for a greener window?

A job submitted with ``--deadline`` says it may start late. If a site's carbon series (its
forecast) shows a cleaner moment before the job must start to meet its deadline, the job
waits for that moment instead of joining the queue now. Pure: the clock is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable

from .sites import Site

MARGIN = 0.95  # wait only for a window at least 5% cleaner than now


def greener_start(sites: Iterable[Site], now: float, latest: float) -> tuple[float, float, float] | None:
    """(when, intensity then, intensity now) of the cleanest start in [now, latest], if worth waiting for.

    Candidates are now and every point where a site's series changes inside the window;
    the earliest of the cleanest wins, so a job never waits longer than it gains by.
    """
    sites = list(sites)
    if latest <= now or not sites:
        return None
    candidates = {now}
    for site in sites:
        candidates.update(t for t in getattr(site.carbon, "times", ()) if now < t <= latest)
    current = min(site.carbon.intensity(now) for site in sites)
    best_time, best = now, current
    for moment in sorted(candidates):
        value = min(site.carbon.intensity(moment) for site in sites)
        if value < best:
            best_time, best = moment, value
    if best_time == now or best >= current * MARGIN:
        return None
    return best_time, best, current
