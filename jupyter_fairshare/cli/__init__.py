"""The ``fairshare`` command: run a pool, administer it, and look at it from a shell.

The commands that run a pool (``pool serve``) or write its store (``admin``, in
:mod:`.admin`) are the operator's, on the pool's host; ``status``, ``jobs``, ``prices`` and
``stats`` (:mod:`.look`), ``node join`` and ``demo`` reach a pool only through the client.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .._version import __version__
from . import admin
from .admin import pool_config

#: The commands that look at a pool, with their help lines (run by :mod:`.look`).
LOOKS = {"status": "the pool's sites and queue", "jobs": "your jobs", "prices": "published prices",
         "stats": "published waits and acceptance"}


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

    admin.add_parser(commands)

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

    for name, help_text in LOOKS.items():
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--url", default=None, help="the pool's URL (default: as a notebook finds it)")
        sub.add_argument("--token", default=None)
        sub.add_argument("--json", action="store_true", help="print JSON")
        sub.set_defaults(run=_look, what=name)
    return parser


def _serve(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from ..pool.serve import serve

    conf = pool_config(args)
    if args.dask:
        conf = replace(conf, dask_address=args.dask)
    if args.workers is not None:
        if args.workers < 1:
            raise ValueError("--workers must be at least 1; or point --dask at a running cluster.")
        conf = replace(conf, sites=[replace(conf.sites[0], workers=args.workers), *conf.sites[1:]])
    serve(conf, args.host, args.port, demo=not args.no_demo, state_file=args.state_file)
    return 0


def _node_join(args: argparse.Namespace) -> int:
    from ..nodes.join import join

    token = args.token or os.environ.get("FAIRSHARE_TOKEN")
    if not token:
        raise ValueError("Joining needs an operator token; pass --token or set FAIRSHARE_TOKEN.")
    join(args.url, token, args.site, args.cpus, args.memory)
    return 0


def _demo(args: argparse.Namespace) -> int:
    """Demo pool up (or reused), its newcomer account exported to JupyterLab and its kernels."""
    from ..demo.launch import ensure_demo

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


def _look(args: argparse.Namespace) -> int:
    # Imported here: `fairshare pool serve` runs this module too, and the pool loads no client.
    from .look import look

    return look(args)
