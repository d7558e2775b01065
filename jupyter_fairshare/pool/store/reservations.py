"""The public record of reserved or exclusive capacity."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from .tables import reservations


def add(connection: Connection, values: dict[str, Any]) -> int:
    """Store a reservation; its id."""
    key = connection.execute(insert(reservations).values(**values)).inserted_primary_key
    assert key is not None  # an INSERT of one row always has one
    return int(key[0])


def listing(engine: Engine) -> list[dict[str, Any]]:
    """Every reservation, the latest first."""
    with engine.connect() as connection:
        rows = connection.execute(select(reservations).order_by(reservations.c.starts_at.desc())).mappings().all()
    return [dict(row) for row in rows]
