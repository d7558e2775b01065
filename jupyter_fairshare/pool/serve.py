"""Running a pool process: the store, a Dask cluster to dispatch to, and the HTTP server.

With no ``--dask`` address the pool brings its own LocalCluster, one set of worker
processes per configured site (named ``SITE/i`` so the dispatcher knows where each runs),
so a laptop needs no configuration at all.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import dask
import uvicorn
from distributed import Client, Nanny, Scheduler, SpecCluster

from .config import PoolConfig
from .http.app import create_app
from .pool import Pool
from .store import accounts

log = logging.getLogger(__name__)


# The local cluster's workers run no Dask tasks, only our direct calls: Dask's profiler
# (a stack sample every 10 ms) and its 50-per-second event-loop ticks would cost every
# process a steady few percent of a core, on machines where the jobs need the cores.
_QUIET = {"distributed.worker.profile.enabled": False, "distributed.admin.tick.interval": "500ms",
          "distributed.admin.system-monitor.interval": "2s"}


async def start_cluster(config: PoolConfig) -> SpecCluster:
    """A local Dask cluster with ``workers`` single-threaded worker processes per site."""
    dask.config.set(_QUIET)
    memory = config.worker_memory or "auto"
    workers = {
        f"{site.name}/{i}": {"cls": Nanny, "options": {"nthreads": 1, "name": f"{site.name}/{i}",
                                                       "memory_limit": memory, "silence_logs": logging.WARNING,
                                                       "dashboard": False}}
        for site in config.sites for i in range(site.workers)
    }
    scheduler = {"cls": Scheduler, "options": {"dashboard": False, "host": "127.0.0.1",
                                                "idle_timeout": None}}
    cluster: SpecCluster = await SpecCluster(  # type: ignore[no-untyped-call]  # distributed is untyped
        workers=workers, scheduler=scheduler, asynchronous=True, silence_logs=logging.WARNING)
    return cluster


def bootstrap_accounts(pool: Pool, demo: bool) -> str | None:
    """On an empty store, create the admin account and (embedded) a demo one; return its token."""
    with pool.engine.begin() as connection:
        if accounts.listing(connection):
            return None
        admin = accounts.create(connection, "admin", "standard", role="admin")
        token = accounts.create(connection, "demo", "newcomer", credits=100.0) if demo else None
    return token if demo else admin


def serve(config: PoolConfig, host: str = "127.0.0.1", port: int = 8750, demo: bool = True,
          state_file: Path | None = None) -> None:
    """Run the pool until SIGINT/SIGTERM; prints the URL and any token created on first start."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this: without it small responses wait on delayed ACKs.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    port = sock.getsockname()[1]
    url = f"http://{host}:{port}"
    pool = Pool(config)
    token = bootstrap_accounts(pool, demo)

    @asynccontextmanager
    async def lifespan(_app: object) -> AsyncIterator[None]:
        cluster = await start_cluster(config) if not config.dask_address else None
        client: Client = await Client(  # type: ignore[no-untyped-call]  # distributed is untyped
            cluster or config.dask_address, asynchronous=True)
        await pool.start(client)
        _announce(url, token, state_file, config)
        try:
            yield
        finally:
            await pool.stop()
            await _closed(client)
            if cluster is not None:
                await _closed(cluster)

    app = create_app(pool, lifespan=lifespan)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False,
                                           timeout_graceful_shutdown=5))
    with asyncio.Runner(loop_factory=event_loop()) as runner:
        runner.run(server.serve(sockets=[sock]))


async def _closed(thing: Any) -> None:
    """Close an asynchronous Dask client or cluster (distributed types ``close`` loosely)."""
    closing = thing.close()
    if closing is not None:
        await closing


def event_loop() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed (uvicorn's standard extra brings it, except on Windows):
    the pool's loop carries HTTP, the store's commits and Dask's messages, and uvloop runs
    each of its turns in a fraction of the time. Dask's workers are told to use it too."""
    try:
        import uvloop
    except ImportError:
        return None
    dask.config.set({"distributed.admin.event-loop": "uvloop"})
    return uvloop.new_event_loop


def _announce(url: str, token: str | None, state_file: Path | None, config: PoolConfig) -> None:
    print(f"fairshare pool serving at {url} (store: {config.url})", flush=True)
    if state_file is not None:
        previous = _read_state(state_file)
        token = token or previous.get("token")
        state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = state_file.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"url": url, "token": token, "pid": os.getpid()}, handle)
        os.replace(tmp, state_file)
    if token:
        print("Token for this pool (shown once; export it as FAIRSHARE_TOKEN):", flush=True)
        print(token, flush=True)


def _read_state(path: Path) -> dict[str, Any]:
    try:
        state: dict[str, Any] = json.loads(path.read_text())
        return state
    except (OSError, ValueError):
        return {}

