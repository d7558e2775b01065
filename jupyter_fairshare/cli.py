"""The ``fairshare`` command: run a pool, administer it, and look at it from a shell."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ._version import __version__


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        return args.run(args) or 0
    except ValueError as exc:  # configuration and admin errors carry a sentence for the user
        print(f"fairshare: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fairshare", description="A fair-share compute pool for notebooks.")
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(title="commands")

    pool = commands.add_parser("pool", help="run a pool").add_subparsers(title="pool commands")
    serve = pool.add_parser("serve", help="serve a pool over HTTP (SQLite and local Dask workers by default)")
    serve.add_argument("--db", help="SQLAlchemy URL of the store (default: SQLite in the user data dir)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8750, help="0 picks a free port")
    where = serve.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, help="local Dask worker processes for the default site")
    where.add_argument("--dask", help="address of an existing Dask scheduler to dispatch to")
    serve.add_argument("--config", type=Path, help="TOML file of pool settings")
    serve.add_argument("--data-dir", type=Path, help="where the default store and state live")
    serve.add_argument("--state-file", type=Path, help="write URL, token and pid here (embedded pools)")
    serve.add_argument("--no-demo", action="store_true", help="do not create the demo account on first start")
    serve.set_defaults(run=_serve)

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

    node = commands.add_parser("node", help="lend this machine to a pool").add_subparsers(title="node commands")
    join = node.add_parser("join", help="join a pool's site as a Dask worker until stopped")
    join.add_argument("url")
    join.add_argument("--site", required=True)
    join.add_argument("--cpus", type=int)
    join.add_argument("--memory", help="memory to lend, e.g. 8GB (default: all)")
    join.add_argument("--token", default=None, help="an operator token (default: FAIRSHARE_TOKEN)")
    join.set_defaults(run=_node_join)

    demo = commands.add_parser("demo", help="start the demo pool and open JupyterLab on the demo notebooks")
    demo.add_argument("notebook", nargs="?", type=Path, default=Path("examples/00-start-here.ipynb"),
                      help="the notebook to open (default: examples/00-start-here.ipynb)")
    demo.add_argument("--minutes", type=float, default=60.0, help="how long the simulated neighbours keep it busy")
    demo.add_argument("--no-browser", action="store_true", help="print the URL instead of opening a browser")
    demo.set_defaults(run=_demo)

    for name, help_text in (("status", "the pool's sites and queue"), ("jobs", "your jobs"),
                            ("prices", "published prices"), ("stats", "published waits and acceptance")):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--url", default=None)
        sub.add_argument("--token", default=None)
        sub.add_argument("--json", action="store_true", help="print JSON")
        sub.set_defaults(run=_look, what=name)
    return parser


def _config(args):
    from .pool import config

    overrides = {"db_url": getattr(args, "db", None), "data_dir": getattr(args, "data_dir", None)}
    return config.load(getattr(args, "config", None), **overrides)


def _serve(args) -> int:
    from dataclasses import replace

    from .pool.serve import serve

    conf = _config(args)
    if args.dask:
        conf = replace(conf, dask_address=args.dask)
    if args.workers is not None:
        if args.workers < 1:
            raise ValueError("--workers must be at least 1; or point --dask at a running cluster.")
        conf = replace(conf, sites=[replace(conf.sites[0], workers=args.workers), *conf.sites[1:]])
    serve(conf, args.host, args.port, demo=not args.no_demo, state_file=args.state_file)
    return 0


def _store(args):
    from .pool.store.db import open_engine

    return open_engine(_config(args).url)


def _account_add(args) -> int:
    from .pool import accounts

    with _store(args).begin() as connection:
        token = accounts.create(connection, args.name, args.tier, args.shares, args.credits,
                                "admin" if args.admin else "user")
    print(f"Created account {args.name} ({args.tier}, {args.shares:g} shares, {args.credits:g} credits). Its token:")
    print(token)
    return 0


def _account_list(args) -> int:
    from .pool import accounts

    with _store(args).connect() as connection:
        rows = accounts.listing(connection)
    print(f"{'name':20} {'tier':9} {'role':6} {'shares':>7} {'credits':>10} {'held':>8} {'usage':>10}")
    for row in rows:
        print(f"{row['name']:20} {row['tier']:9} {row['role']:6} {row['shares']:7g} {row['credits']:10.4f} "
              f"{row['held']:8.4f} {row['usage']:10.2f}")
    return 0


def _account_topup(args) -> int:
    from .pool import accounts

    with _store(args).begin() as connection:
        total = accounts.top_up(connection, args.name, args.amount)
    print(f"{args.name} now has {total:.4f} credits.")
    return 0


def _account_tier(args) -> int:
    from .pool import accounts

    with _store(args).begin() as connection:
        accounts.set_tier(connection, args.name, args.tier, args.shares)
    print(f"{args.name} is now in tier {args.tier}.")
    return 0


def _account_token(args) -> int:
    from .pool import accounts

    with _store(args).begin() as connection:
        token = accounts.rotate_token(connection, args.name)
    print(f"New token for {args.name} (the old one no longer works):")
    print(token)
    return 0


def _reservation_add(args) -> int:
    import time
    from datetime import datetime

    from sqlalchemy import insert

    from .pool.config import parse_size
    from .pool.store.tables import reservations

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


def _reservation_list(args) -> int:
    from datetime import datetime

    from sqlalchemy import select

    from .pool.store.tables import reservations

    with _store(args).connect() as connection:
        rows = connection.execute(select(reservations).order_by(reservations.c.starts_at)).mappings().all()
    for row in rows:
        print(f"{row['holder']:20} {row['site']:10} {row['cpus']:6g} CPUs  "
              f"{datetime.fromtimestamp(row['starts_at']):%Y-%m-%d %H:%M} - "
              f"{datetime.fromtimestamp(row['ends_at']):%Y-%m-%d %H:%M}  {row['reason']}")
    return 0


def _node_join(args) -> int:
    from .nodes.join import join

    token = args.token or os.environ.get("FAIRSHARE_TOKEN")
    if not token:
        raise ValueError("Joining needs an operator token; pass --token or set FAIRSHARE_TOKEN.")
    join(args.url, token, args.site, args.cpus, args.memory)
    return 0


def _demo(args) -> int:
    """Demo pool up (or reused), its newcomer account exported to JupyterLab and its kernels."""
    from .demo.launch import ensure_demo

    url, token = ensure_demo(minutes=args.minutes)
    os.environ.update(FAIRSHARE_URL=url, FAIRSHARE_TOKEN=token)
    print(f"Demo pool at {url}; you are the newcomer account. Opening JupyterLab (Ctrl-C stops it).", flush=True)
    command = [sys.executable, "-m", "jupyterlab"]
    if args.notebook.exists():
        command.append(f"--LabApp.default_url=/lab/tree/{args.notebook.as_posix()}")
    else:
        print(f"{args.notebook} is not here; run this from the repository to open the demo notebooks.")
    if args.no_browser:
        command.append("--no-browser")
    if os.geteuid() == 0:
        command.append("--allow-root")
    os.execv(sys.executable, command)
    return 0


def _look(args) -> int:
    import httpx

    url = (args.url or os.environ.get("FAIRSHARE_URL") or "http://127.0.0.1:8750").rstrip("/")
    token = args.token or os.environ.get("FAIRSHARE_TOKEN")
    paths = {"status": "/api/v1/public/sites", "jobs": "/api/v1/jobs", "prices": "/api/v1/public/prices",
             "stats": "/api/v1/public/stats"}
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.get(url + paths[args.what], headers=headers, timeout=10)
    except httpx.HTTPError:
        print(f"fairshare: no pool answers at {url}; start one with `fairshare pool serve` or set FAIRSHARE_URL.",
              file=sys.stderr)
        return 1
    body = response.json()
    if response.status_code >= 400:
        print(f"fairshare: {body.get('detail', response.text)}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(body, indent=2))
    else:
        _print_table(args.what, body)
    return 0


def _print_table(what: str, body: dict) -> None:
    if what == "status":
        for site in body["sites"]:
            print(f"{site['name']:12} {site['workers']} workers  {site['free_cpus']:g}/{site['cpus']:g} CPUs free  "
                  f"{site['carbon_intensity']:.0f} gCO2e/kWh")
    elif what == "jobs":
        for job in body["jobs"]:
            print(f"{job['id'][:12]}  {job['state']:9} {job['name'][:30]:30} {job['cost']:.6f} credits")
    elif what == "prices":
        for price in body["sites"]:
            print(f"{price['site']:12} v{price['version']}  CPU-s {price['cpu_second']:.3e}  "
                  f"GB-s {price['memory_gb_second']:.3e}  GPU-s {price['gpu_second']:.3e}")
    else:
        print(json.dumps(body, indent=2))


if __name__ == "__main__":
    sys.exit(main())
