"""Sites and their price versions: a site's costs changing publishes a new version, never
rewrites an old one, so every stored bill can name the prices it was made with."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select

from .tables import prices, sites


def publish(connection: Connection, name: str, carbon: str, watts: tuple[float, float, float],
            breakdown: dict[str, Any], now: float) -> tuple[int, dict[str, Any], float]:
    """Record a site (once) and, when ``breakdown`` differs from its latest, a new price version.

    Returns the version in force: (version, breakdown, effective_at).
    """
    if connection.execute(select(sites.c.name).where(sites.c.name == name)).first() is None:
        connection.execute(insert(sites).values(name=name, carbon=carbon, watts_per_cpu=watts[0],
                                                watts_per_gb=watts[1], watts_per_gpu=watts[2], created_at=now))
    latest = connection.execute(
        select(prices).where(prices.c.site == name).order_by(prices.c.version.desc()).limit(1)
    ).mappings().first()
    if latest is not None and latest["breakdown"] == breakdown:
        return latest["version"], latest["breakdown"], latest["effective_at"]
    version = (latest["version"] + 1) if latest else 1
    connection.execute(insert(prices).values(site=name, version=version, breakdown=breakdown, effective_at=now))
    return version, breakdown, now
