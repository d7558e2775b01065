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

import httpx
from distributed import Nanny


def cluster_address(url: str, token: str) -> dict:
    try:
        response = httpx.get(f"{url.rstrip('/')}/api/v1/admin/cluster",
                             headers={"Authorization": f"Bearer {token}"}, timeout=10)
    except httpx.HTTPError:
        raise ValueError(f"No pool answers at {url}; check the URL the pool's operator gave you.") from None
    if response.status_code != 200:
        raise ValueError(response.json().get("detail", f"The pool refused to share its cluster ({response.status_code})."))
    return response.json()


async def run_node(scheduler: str, site: str, cpus: int, memory: int | str) -> None:
    name = f"{site}/{socket.gethostname()}-{os.getpid()}"
    async with Nanny(scheduler, nthreads=cpus, memory_limit=memory, name=name, dashboard=False) as nanny:
        print(f"Joined site {site} as {name} with {cpus} CPUs; Ctrl-C leaves the pool.", flush=True)
        await nanny.finished()


def join(url: str, token: str, site: str, cpus: int | None = None, memory: str | None = None) -> None:
    info = cluster_address(url, token)
    if site not in info["sites"]:
        raise ValueError(f"The pool has no site named {site!r}; its sites are {', '.join(info['sites'])}.")
    try:
        asyncio.run(run_node(info["scheduler"], site, cpus or os.cpu_count() or 1, memory or "auto"))
    except KeyboardInterrupt:
        print("Left the pool.")
