"""Prices, holds and bills: the money side of a job.

A price is never a bare number: each unit price (per CPU-second, memory GB-second and
GPU-second) is the sum of a published breakdown of what it pays for (energy, hardware,
operations), so anyone can check it against the site's costs. A job is billed for what it
held (its CPUs, memory and GPUs times its wall time) because that is what it kept others
from using; the bill also states what it measured (CPU time, peak memory).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from ..protocol import Report, StopReason
from .config import PoolConfig
from .live import LiveJob
from .policy import billing_units
from .sites import Site, parse_carbon
from .store import prices as price_store

UNITS = {"cpu": ("cpu_second", "CPU-s"), "memory": ("memory_gb_second", "GB-s"), "gpu": ("gpu_second", "GPU-s")}
COMPONENTS = ("energy", "hardware", "operations")


@dataclass(frozen=True)
class PriceList:
    site: str
    version: int
    breakdown: dict[str, dict[str, float]]  # {"cpu_second": {"energy": x, "hardware": y, "operations": z}, ...}
    effective_at: float = 0.0

    def unit(self, key: str) -> float:
        return sum(self.breakdown.get(key, {}).values())

    def rate(self, cpus: float, memory: int, gpus: int) -> float:
        """Credits per second of wall time for a job holding these resources."""
        return (
            cpus * self.unit("cpu_second")
            + memory / 1e9 * self.unit("memory_gb_second")
            + gpus * self.unit("gpu_second")
        )

    def public(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "version": self.version,
            "effective_at": self.effective_at,
            **{key: self.unit(key) for key, _ in UNITS.values()},
            "breakdown": self.breakdown,
        }


def breakdown_from_costs(
    watts_per_cpu: float,
    watts_per_gb: float,
    watts_per_gpu: float,
    electricity_per_kwh: float = 0.30,
    hardware_per_cpu_hour: float = 0.008,
    hardware_per_gb_hour: float = 0.001,
    hardware_per_gpu_hour: float = 0.40,
    operations_share: float = 0.25,
) -> dict[str, dict[str, float]]:
    """Unit prices from a site's costs: energy from its power draw, hardware amortised per
    hour, operations as a share of the two."""
    def unit(watts: float, hardware_per_hour: float) -> dict[str, float]:
        energy = watts / 3.6e6 * electricity_per_kwh
        hardware = hardware_per_hour / 3600
        return {"energy": energy, "hardware": hardware, "operations": (energy + hardware) * operations_share}

    return {
        "cpu_second": unit(watts_per_cpu, hardware_per_cpu_hour),
        "memory_gb_second": unit(watts_per_gb, hardware_per_gb_hour),
        "gpu_second": unit(watts_per_gpu, hardware_per_gpu_hour),
    }


def time_limit(max_cost: float, prices: PriceList, cpus: float, memory: int, gpus: int) -> float:
    """The wall time after which a job has spent its max cost."""
    rate = prices.rate(cpus, memory, gpus)
    return max_cost / rate if rate > 0 else float("inf")


def make_bill(
    prices: PriceList,
    *,
    cpus: float,
    memory: int,
    gpus: int,
    wall_seconds: float,
    cpu_seconds: float,
    peak_memory: int,
    max_cost: float,
    energy_kwh: float,
    carbon_intensity: float,
) -> dict[str, Any]:
    """An itemised bill; the total never exceeds the job's max cost."""
    quantities = {"cpu": cpus * wall_seconds, "memory": memory / 1e9 * wall_seconds, "gpu": gpus * wall_seconds}
    lines: list[dict[str, Any]] = []
    for item, (key, unit) in UNITS.items():
        if quantities[item] <= 0:
            continue
        price = prices.unit(key)
        lines.append(
            {"item": item, "quantity": quantities[item], "unit": unit, "price": price,
             "amount": quantities[item] * price}
        )
    subtotal = sum(line["amount"] for line in lines)
    return {
        "lines": lines,
        "total": min(subtotal, max_cost),
        "capped": subtotal > max_cost,
        "site": prices.site,
        "price_version": prices.version,
        "energy_kwh": energy_kwh,
        "carbon_intensity": carbon_intensity,
        "co2e_g": energy_kwh * carbon_intensity,
        "cpu_seconds": cpu_seconds,
        "wall_seconds": wall_seconds,
        "peak_memory": peak_memory,
    }


class Billing:
    """The sites' prices in force, and what they make of a job: its rate, its limit, its bill.

    The max cost is turned into a wall-time limit here, before the job starts, together with
    the reason the worker gives if it stops the job at that limit (``Limits.wall_reason``):
    the pool never has to work out afterwards whether a "time" stop was the cap.
    """

    def __init__(self, engine: Engine, config: PoolConfig) -> None:
        self.config = config
        self.sites: dict[str, Site] = {}
        self.prices: dict[str, PriceList] = {}
        self._publish(engine)

    def _publish(self, engine: Engine) -> None:
        """Publish each configured site and, when its costs changed, a new price version."""
        now = time.time()
        with engine.begin() as connection:
            for conf in self.config.sites:
                site = Site(conf.name, parse_carbon(conf.carbon), conf.watts_per_cpu, conf.watts_per_gb,
                            conf.watts_per_gpu)
                breakdown = breakdown_from_costs(conf.watts_per_cpu, conf.watts_per_gb, conf.watts_per_gpu,
                                                 electricity_per_kwh=conf.electricity_per_kwh)
                version, current, effective_at = price_store.publish(
                    connection, conf.name, site.carbon.spec,
                    (conf.watts_per_cpu, conf.watts_per_gb, conf.watts_per_gpu), breakdown, now)
                self.sites[conf.name] = site
                self.prices[conf.name] = PriceList(conf.name, version, current, effective_at)

    def rate(self, job: LiveJob, site: str) -> float:
        """Credits per second of wall time for ``job`` at ``site``."""
        return self.prices[site].rate(job.cpus, job.memory, job.gpus)

    def wall_limit(self, job: LiveJob, site: str) -> tuple[float, StopReason]:
        """The job's wall-time limit at ``site`` and what stopping it there means: the pool's
        time limit, or its max cost running out when that comes first."""
        cap = time_limit(job.max_cost, self.prices[site], job.cpus, job.memory, job.gpus)
        if cap < self.config.max_wall_seconds:
            return cap, StopReason.MAX_COST
        return self.config.max_wall_seconds, StopReason.TIME

    def cost_so_far(self, job: LiveJob, now: float) -> float:
        """What a running job has cost up to ``now``, never above its max cost."""
        return min(job.rate * (now - job.started_at), job.max_cost) if job.started_at else 0.0

    def bill(self, job: LiveJob, report: Report, now: float) -> dict[str, Any] | None:
        """The itemised bill of an attempt that ran at ``job.site``; capped at the max cost
        when the cap is what stopped it."""
        if job.site is None:
            return None
        site, wall = self.sites[job.site], float(report["wall_seconds"] or 0.0)
        bill = make_bill(self.prices[job.site], cpus=job.cpus, memory=job.memory, gpus=job.gpus,
                         wall_seconds=wall, cpu_seconds=float(report["cpu_seconds"] or 0.0),
                         peak_memory=int(report["peak_memory"] or 0), max_cost=job.max_cost,
                         energy_kwh=site.energy_kwh(job.cpus, job.memory, job.gpus, wall),
                         carbon_intensity=site.carbon.intensity(now))
        if report["reason"] == StopReason.MAX_COST:
            bill["total"], bill["capped"] = job.max_cost, True
        return bill

    def usage(self, job: LiveJob, report: Report) -> float:
        """The fair-share usage an attempt adds to its account."""
        return billing_units(job.cpus, job.memory, job.gpus, float(report["wall_seconds"] or 0.0), self.config.policy)

    def public_prices(self) -> dict[str, Any]:
        """Each site's unit prices with the breakdown they come from."""
        return {"sites": [p.public() for p in self.prices.values()]}
