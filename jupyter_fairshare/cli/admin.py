"""``fairshare admin``: the operator's commands, which write the pool's store directly.

They run on the pool's host with ``--db`` (the same URL the pool serves from), so an
operator can create the first admin account before any token exists. Everything else in
the command line reaches a pool through its HTTP API.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "pool_config"]


def add_parser(commands: Any) -> None:
    """The ``admin`` command and its subcommands, under ``commands`` (argparse's subparsers)."""
    admin = commands.add_parser("admin", help="administer a pool's store directly")
    admin.add_argument("--db", help="SQLAlchemy URL of the store (default: SQLite in the user data dir)")
    admin.add_argument("--config", type=Path)
    admin_commands = admin.add_subparsers(title="admin commands")
    account = admin_commands.add_parser("account", help="accounts").add_subparsers(title="account commands")
    add = account.add_parser("add", help="create an account; prints its token as the last line")
    add.add_argument("name")
    add.add_argument("--tier", required=True, choices=("newcomer", "standard"))
    add.add_argument("--shares", type=float, default=1.0)
    add.add_argument("--credits", type=float, default=0.0)
    add.add_argument("--admin", action="store_true", help="give the account the admin role")
    add.set_defaults(run=_account_add)
    account.add_parser("list", help="list accounts").set_defaults(run=_account_list)
    topup = account.add_parser("topup", help="add credits")
    topup.add_argument("name")
    topup.add_argument("amount", type=float)
    topup.set_defaults(run=_account_topup)
    tier = account.add_parser("tier", help="change an account's tier or shares")
    tier.add_argument("name")
    tier.add_argument("tier", choices=("newcomer", "standard"))
    tier.add_argument("--shares", type=float)
    tier.set_defaults(run=_account_tier)
    token = account.add_parser("token", help="issue a new token (the old one stops working)")
    token.add_argument("name")
    token.set_defaults(run=_account_token)

    reservation = admin_commands.add_parser("reservation", help="the public record of reserved capacity")
    reservation_commands = reservation.add_subparsers(title="reservation commands")
    radd = reservation_commands.add_parser("add", help="record capacity reserved for someone, and why")
    radd.add_argument("holder")
    radd.add_argument("--site", required=True)
    radd.add_argument("--cpus", type=float, required=True)
    radd.add_argument("--memory", default="0")
    radd.add_argument("--gpus", type=int, default=0)
    radd.add_argument("--from", dest="starts", required=True, help="ISO 8601 start, e.g. 2026-12-01T09:00")
    radd.add_argument("--until", dest="ends", required=True, help="ISO 8601 end")
    radd.add_argument("--reason", required=True)
    radd.set_defaults(run=_reservation_add)
    reservation_commands.add_parser("list", help="list the record").set_defaults(run=_reservation_list)


def pool_config(args: argparse.Namespace) -> Any:
    """The pool's settings from ``--config``, ``--db`` and ``--data-dir``."""
    from ..pool import config

    overrides = {"db_url": getattr(args, "db", None), "data_dir": getattr(args, "data_dir", None)}
    return config.load(getattr(args, "config", None), **overrides)


def _store(args: argparse.Namespace) -> Any:
    from ..pool.store.db import open_engine

    return open_engine(pool_config(args).url)


def _account_add(args: argparse.Namespace) -> int:
    from ..pool.store import accounts

    with _store(args).begin() as connection:
        token = accounts.create(connection, args.name, args.tier, args.shares, args.credits,
                                "admin" if args.admin else "user")
    print(f"Created account {args.name} ({args.tier}, {args.shares:g} shares, {args.credits:g} credits). Its token:")
    print(token)
    return 0


def _account_list(args: argparse.Namespace) -> int:
    from ..pool.store import accounts

    with _store(args).connect() as connection:
        rows = accounts.listing(connection)
    print(f"{'name':20} {'tier':9} {'role':6} {'shares':>7} {'credits':>10} {'held':>8} {'usage':>10}")
    for row in rows:
        print(f"{row['name']:20} {row['tier']:9} {row['role']:6} {row['shares']:7g} {row['credits']:10.4f} "
              f"{row['held']:8.4f} {row['usage']:10.2f}")
    return 0


def _account_topup(args: argparse.Namespace) -> int:
    from ..pool.store import accounts

    with _store(args).begin() as connection:
        total = accounts.top_up(connection, args.name, args.amount)
    print(f"{args.name} now has {total:.4f} credits.")
    return 0


def _account_tier(args: argparse.Namespace) -> int:
    from ..pool.store import accounts

    with _store(args).begin() as connection:
        accounts.set_tier(connection, args.name, args.tier, args.shares)
    print(f"{args.name} is now in tier {args.tier}.")
    return 0


def _account_token(args: argparse.Namespace) -> int:
    from ..pool.store import accounts

    with _store(args).begin() as connection:
        token = accounts.rotate_token(connection, args.name)
    print(f"New token for {args.name} (the old one no longer works):")
    print(token)
    return 0


def _reservation_add(args: argparse.Namespace) -> int:
    import time
    from datetime import datetime

    from sqlalchemy import insert

    from ..pool.config import parse_size
    from ..pool.store.tables import reservations

    try:
        starts, ends = (datetime.fromisoformat(t).timestamp() for t in (args.starts, args.ends))
    except ValueError:
        raise ValueError("--from and --until must be ISO 8601 times such as 2026-12-01T09:00.") from None
    if ends <= starts:
        raise ValueError("--until must be after --from.")
    with _store(args).begin() as connection:
        connection.execute(insert(reservations).values(
            holder=args.holder, site=args.site, cpus=args.cpus, memory=parse_size(args.memory), gpus=args.gpus,
            starts_at=starts, ends_at=ends, reason=args.reason, created_at=time.time()))
    print(f"Recorded: {args.cpus:g} CPUs at {args.site} for {args.holder} from {args.starts} until {args.ends}.")
    return 0


def _reservation_list(args: argparse.Namespace) -> int:
    from datetime import datetime

    from sqlalchemy import select

    from ..pool.store.tables import reservations

    with _store(args).connect() as connection:
        rows = connection.execute(select(reservations).order_by(reservations.c.starts_at)).mappings().all()
    for row in rows:
        print(f"{row['holder']:20} {row['site']:10} {row['cpus']:6g} CPUs  "
              f"{datetime.fromtimestamp(row['starts_at']):%Y-%m-%d %H:%M} - "
              f"{datetime.fromtimestamp(row['ends_at']):%Y-%m-%d %H:%M}  {row['reason']}")
    return 0
