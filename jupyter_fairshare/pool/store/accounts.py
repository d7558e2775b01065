"""Accounts: who may submit, their tier, shares and credits.

These are plain functions over a connection, so the admin command line (which talks to
the store directly, even while no pool runs) and the service share one implementation.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, RowMapping, insert, select, update

from ..auth import hash_token, new_token
from .tables import accounts, ledger

TIERS = ("newcomer", "standard")


class AccountError(ValueError):
    """An admin request that cannot be done; the message says what to do instead."""


@dataclass(frozen=True)
class Principal:
    """The caller behind a token, as the service needs it on every request."""

    id: int
    name: str
    tier: str
    role: str
    shares: float


def create(connection: Connection, name: str, tier: str, shares: float = 1.0, credits: float = 0.0,
           role: str = "user") -> str:
    """Create an account; returns its token, which is not stored and cannot be shown again."""
    if tier not in TIERS:
        raise AccountError(f"Unknown tier {tier!r}; use one of {', '.join(TIERS)}.")
    if connection.execute(select(accounts.c.id).where(accounts.c.name == name)).first():
        raise AccountError(f"An account named {name!r} exists already; pick another name.")
    token = new_token()
    now = time.time()
    result = connection.execute(
        insert(accounts).values(
            name=name, tier=tier, role=role, shares=shares, credits=credits, held=0.0, usage=0.0,
            usage_at=now, token_hash=hash_token(token), created_at=now,
        )
    )
    if credits and result.inserted_primary_key is not None:
        connection.execute(insert(ledger).values(account_id=result.inserted_primary_key[0], ts=now,
                                                  kind="topup", amount=credits, note="opening credits"))
    return token


def top_up(connection: Connection, name: str, amount: float) -> float:
    """Add credits; returns the new credit total."""
    row = _row(connection, name)
    connection.execute(update(accounts).where(accounts.c.id == row.id).values(credits=accounts.c.credits + amount))
    connection.execute(insert(ledger).values(account_id=row.id, ts=time.time(), kind="topup", amount=amount))
    return float(row.credits) + amount


def set_tier(connection: Connection, name: str, tier: str, shares: float | None = None) -> None:
    """Change an account's tier (and shares); the pool applies it on its next look."""
    if tier not in TIERS:
        raise AccountError(f"Unknown tier {tier!r}; use one of {', '.join(TIERS)}.")
    row = _row(connection, name)
    values: dict[str, Any] = {"tier": tier}
    if shares is not None:
        values["shares"] = shares
    connection.execute(update(accounts).where(accounts.c.id == row.id).values(**values))


def rotate_token(connection: Connection, name: str) -> str:
    """Replace an account's token; the old one stops working at once."""
    row = _row(connection, name)
    token = new_token()
    connection.execute(update(accounts).where(accounts.c.id == row.id).values(token_hash=hash_token(token)))
    return token


def listing(connection: Connection) -> list[dict[str, Any]]:
    """Every account as the admin API shows it."""
    rows = connection.execute(select(accounts).order_by(accounts.c.name)).mappings()
    return [public(row) for row in rows]


def public(row: RowMapping) -> dict[str, Any]:
    """An account's row as the API shows it (no token hash)."""
    return {
        "name": row["name"], "tier": row["tier"], "role": row["role"], "shares": row["shares"],
        "credits": row["credits"], "held": row["held"], "balance": row["credits"] - row["held"],
        "usage": row["usage"],
    }


def by_token(connection: Connection, token: str) -> Principal | None:
    row = connection.execute(
        select(accounts.c.id, accounts.c.name, accounts.c.tier, accounts.c.role, accounts.c.shares)
        .where(accounts.c.token_hash == hash_token(token))
    ).first()
    return Principal(row[0], row[1], row[2], row[3], row[4]) if row else None


def _row(connection: Connection, name: str) -> Row[Any]:
    row = connection.execute(select(accounts).where(accounts.c.name == name)).first()
    if row is None:
        raise AccountError(f"No account named {name!r}; list them with `fairshare admin account list`.")
    return row


def by_id(connection: Connection, account: int) -> dict[str, Any]:
    """An account as the API shows it to its owner."""
    return public(connection.execute(select(accounts).where(accounts.c.id == account)).mappings().one())


def by_name(connection: Connection, name: str) -> RowMapping | None:
    """An account's full row, or None."""
    return connection.execute(select(accounts).where(accounts.c.name == name)).mappings().first()


def every(connection: Connection) -> Sequence[RowMapping]:
    """Every account's full row, for rebuilding the scheduler's view of them."""
    return connection.execute(select(accounts)).mappings().all()
