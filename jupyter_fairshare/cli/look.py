"""``fairshare status | jobs | prices | stats``: a look at a pool from a shell.

The pool is found as a notebook finds it (``--url``/``--token``, then ``FAIRSHARE_URL`` and
``FAIRSHARE_TOKEN``, then the user's config file, then a running embedded pool), and every
request goes through :mod:`jupyter_fairshare.client`. Only reading: no pool is started.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..client import Client, errors, settings

__all__ = ["look"]


def look(args: argparse.Namespace) -> int:
    """Print one view of the pool, as a table or (``--json``) as the pool's JSON."""
    try:
        found = settings.resolve(args.url, args.token, start=False)
        with Client(found.url, found.token) as client:
            body: Any = {"jobs": client.jobs()} if args.what == "jobs" else client.public(_VIEWS[args.what])
    except errors.FairshareError as exc:
        print(f"fairshare: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(body, indent=2))
    else:
        _print_table(args.what, body)
    return 0


_VIEWS = {"status": "sites", "prices": "prices", "stats": "stats"}


def _print_table(what: str, body: dict[str, Any]) -> None:
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
