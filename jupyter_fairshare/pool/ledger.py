"""Prices, holds and bills: the money side of a job, as pure functions.

A price is never a bare number: each unit price (per CPU-second, memory GB-second and
GPU-second) is the sum of a published breakdown of what it pays for (energy, hardware,
operations), so anyone can check it against the site's costs. A job is billed for what it
held (its CPUs, memory and GPUs times its wall time) because that is what it kept others
from using; the bill also states what it measured (CPU time, peak memory).
"""

from __future__ import annotations

from dataclasses import dataclass

UNITS = {"cpu": ("cpu_second", "CPU-s"), "memory": ("memory_gb_second", "GB-s"), "gpu": ("gpu_second", "GPU-s")}
COMPONENTS = ("energy", "hardware", "operations")


@dataclass(frozen=True)
class PriceList:
    site: str
    version: int
    breakdown: dict  # {"cpu_second": {"energy": x, "hardware": y, "operations": z}, ...}
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

    def public(self) -> dict:
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
) -> dict:
    """Unit prices from a site's costs: energy from its power draw, hardware amortised per
    hour, operations as a share of the two."""
    def unit(watts: float, hardware_per_hour: float) -> dict:
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
) -> dict:
    """An itemised bill; the total never exceeds the job's max cost."""
    quantities = {"cpu": cpus * wall_seconds, "memory": memory / 1e9 * wall_seconds, "gpu": gpus * wall_seconds}
    lines = []
    for item, (key, unit) in UNITS.items():
        if quantities[item] <= 0:
            continue
        price = prices.unit(key)
        lines.append(
            {"item": item, "quantity": quantities[item], "unit": unit, "price": price, "amount": quantities[item] * price}
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
