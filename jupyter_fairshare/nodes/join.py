"""``fairshare node join URL --site NAME``: lend this machine to a pool's site.

The node asks the pool (with an admin or operator token) where its Dask scheduler is and
runs a worker there named ``SITE/host-pid``, which is how the dispatcher knows the site.
The pool places jobs on it only while it is connected; if it leaves, its running jobs are
re-queued elsewhere and the lost runs are not billed, so a node may come and go freely.
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Any

from distributed import Nanny

from ..client import Client, errors


def cluster_address(url: str, token: str) -> dict[str, Any]:
    """The pool's Dask scheduler address and its sites; failures are sentences for the operator."""
    try:
        with Client(url, token) as client:
            return client.cluster()
    except errors.PoolUnreachable:
        raise ValueError(f"No pool answers at {url}; check the URL the pool's operator gave you.") from None
    except errors.FairshareError as exc:  # the pool's own sentence, e.g. a token without the admin role
        raise ValueError(str(exc)) from None


async def run_node(scheduler: str, site: str, cpus: int, memory: int | str) -> None:
    """Run one Dask worker of ``site`` until it is stopped; its name tells the pool the site."""
    name = f"{site}/{socket.gethostname()}-{os.getpid()}"
    async with Nanny(scheduler, nthreads=cpus, memory_limit=memory, name=name, dashboard=False) as nanny:
        print(f"Joined site {site} as {name} with {cpus} CPUs; Ctrl-C leaves the pool.", flush=True)
        await nanny.finished()


def join(url: str, token: str, site: str, cpus: int | None = None, memory: str | None = None) -> None:
    """Lend this machine to ``site`` of the pool at ``url`` until interrupted."""
    info = cluster_address(url, token)
    if site not in info["sites"]:
        raise ValueError(f"The pool has no site named {site!r}; its sites are {', '.join(info['sites'])}.")
    try:
        asyncio.run(run_node(info["scheduler"], site, cpus or os.cpu_count() or 1, memory or "auto"))
    except KeyboardInterrupt:
        print("Left the pool.")
