"""The dispatcher: the only place jobs meet Dask, and only as I/O.

It knows the cluster's workers (which of them are usable, at which site), warms up the ones
that join, runs one attempt of a job on the worker the policy chose and stops a running one.
It holds no job state: the pool's job book decides what a report or a lost worker means.

A run is one connection to the worker's ``fairshare_run`` handler (``execution/worker/plugin.py``):
the call goes out with the payload, the job's output and progress come back on the same
connection as they happen, and the report is the last message. Everything arrives in order,
so the pool settles a job only after it has seen all of its output, with nothing to count or
wait for. The Dask scheduler never sees our jobs.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import secrets
import socket
import time
from collections.abc import Callable, Collection
from typing import Any, cast
from urllib.parse import urlsplit

from distributed import Client

from ..execution.worker import HANDLER, PRELOAD, REPORT, Connection, DirectRuns, framed, warm_up
from ..protocol import EventType, Limits, Report
from .policy import Node

log = logging.getLogger(__name__)
SUSPECT_SECONDS = 10.0  # how long a worker whose connection just broke gets no jobs


class WorkerError(Exception):
    """Our own code failed on the worker (not the user's code, not the connection): don't retry."""


class WorkerLost(Exception):
    """The worker or the connection to it broke during the attempt: run the job again elsewhere."""


def on_this_host(address: str) -> bool:
    """Whether a worker address is on the pool's own machine (so it can read the spool)."""
    host = urlsplit(address).hostname or ""
    return host in ("127.0.0.1", "localhost", "::1") or host in _own_addresses()


@functools.cache
def _own_addresses() -> frozenset[str]:
    name = socket.gethostname()
    try:
        return frozenset({name, *socket.gethostbyname_ex(name)[2]})
    except OSError:
        return frozenset({name})


def site_of(worker_name: str, default: str) -> str:
    """A worker named ``SITE/anything`` belongs to SITE; any other to the default site."""
    name = str(worker_name)
    return name.split("/", 1)[0] if "/" in name else default


class Dispatcher:
    """The cluster's workers as the pool sees them, and the calls that run and stop jobs on them.

    Typical use by the pool::

        dispatcher = Dispatcher(client, default_site="local", known_sites={"local"})
        await dispatcher.start()
        if await dispatcher.refresh():          # each tick
            scheduler.set_nodes(dispatcher.nodes(), ...)
        report = await dispatcher.run(node, job_id, attempt, payload, limits, on_output, on_progress)
    """

    def __init__(self, client: Client, default_site: str, known_sites: Collection[str],
                 preload: Collection[str] = PRELOAD) -> None:
        """``preload`` names the modules every worker's zygote imports ahead of jobs."""
        self._client = client
        self._preload = tuple(preload)
        self._default_site = default_site
        self._known_sites = frozenset(known_sites)
        self._workers: dict[str, dict[str, Any]] = {}  # address -> the scheduler's identity of it
        self._reported: frozenset[str] = frozenset()  # the node names the last refresh answered for
        self._suspects: dict[str, float] = {}  # address -> monotonic time until which it gets no jobs
        self._tasks: set[asyncio.Task[Any]] = set()
        self._key = secrets.token_bytes(16)  # hides account ids from workers, see account_key

    @property
    def scheduler_address(self) -> str:
        """The Dask scheduler's address, for the pool's public description."""
        return str(self._scheduler().address)

    async def start(self) -> None:
        """Install the job handlers on every worker (workers that join later get them too).

        Safe to call again, e.g. after the scheduler restarted and forgot its plugins.
        """
        await self._client.register_plugin(DirectRuns(self._preload))
        self._workers, self._reported = {}, frozenset()
        await self.refresh()

    async def stop(self) -> None:
        """Abandon the warm-ups still under way."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def refresh(self) -> bool:
        """Re-read the scheduler's workers; whether ``nodes()`` changed since the last refresh.

        Workers that joined get their job processes started now, not on their first job. A
        worker of a site the pool does not know is left out.
        """
        identity = await self._scheduler().identity(n_workers=-1)
        workers = cast(dict[str, dict[str, Any]], dict(identity.get("workers", {})))
        workers = {a: w for a, w in workers.items() if self._site(w) in self._known_sites}
        joined = workers.keys() - self._workers.keys()
        if joined:
            self._spawn(self._warm_up(sorted(joined)))
        self._workers = workers
        now = frozenset(n.name for n in self.nodes())
        changed, self._reported = now != self._reported, now
        return changed

    def nodes(self) -> list[Node]:
        """The workers jobs may be placed on now (those whose connection just broke are left out)."""
        clock = time.monotonic()
        self._suspects = {a: until for a, until in self._suspects.items() if until > clock}
        return [self._node(a, w) for a, w in self._workers.items() if a not in self._suspects]

    def has(self, node: str) -> bool:
        """Whether ``node`` is still one of the usable workers."""
        return node in self._workers and self._suspects.get(node, 0.0) <= time.monotonic()

    def account_key(self, account: int) -> str:
        """What a worker needs to tell accounts apart (a job process is only ever reused for
        the same account's jobs) without learning who they are."""
        return hashlib.blake2b(str(account).encode(), key=self._key, digest_size=12).hexdigest()

    def notebook_key(self, account: int, notebook: str) -> str:
        """What a worker needs to send a notebook's next cell to the process that ran its
        previous one, without learning the notebook's name."""
        return hashlib.blake2b(f"{account}\0{notebook}".encode(), key=self._key, digest_size=12).hexdigest()

    async def run(
        self,
        node: str,
        job_id: str,
        attempt: int,
        payload: bytes,
        limits: Limits,
        on_output: Callable[[dict[str, str]], None],
        on_progress: Callable[[int, int], None],
    ) -> Report:
        """Run one attempt on ``node``; its report once it ended, after all its output was passed on.

        ``on_output`` gets ``{"stream", "text"}`` chunks and ``on_progress`` ``(done, total)``,
        in the order the job produced them. Raises :class:`WorkerLost` if the connection
        broke (the worker is then left out of ``nodes()`` for a while) and :class:`WorkerError`
        if our own code failed on the worker. Cancelling the caller abandons the call.
        """
        pool = self._client.rpc
        try:
            raw = await pool.connect(node)
        except OSError as exc:
            raise self._lost(node, exc) from exc
        comm = cast(Connection, raw)
        done = False
        try:
            await comm.write(
                {"op": HANDLER, "reply": True, "job_id": job_id, "attempt": attempt,
                 "payload": framed(payload), "limits": limits},
                on_error="raise",
            )
            message = await _read(comm)
            while message.get("type") in _LIVE:
                if message["type"] == EventType.OUTPUT:
                    on_output({"stream": message["stream"], "text": message["text"]})
                else:
                    on_progress(int(message["done"]), int(message["total"]))
                message = await _read(comm)
            done = True
        except OSError as exc:  # distributed's CommClosedError is one
            raise self._lost(node, exc) from exc
        finally:
            if done:
                pool.reuse(node, raw)
            else:  # cancelled or broken mid-call: what is left on it belongs to no one
                comm.abort()
        if message.get("type") != REPORT:
            raise WorkerError(str(message.get("text") or message.get("exception") or "unknown error"))
        return _report(message)

    async def kill(self, node: str, job_id: str) -> None:
        """Stop a job's process on ``node``; the job's ``run`` then returns a cancelled report.

        Raises :class:`WorkerLost` if ``node`` cannot be reached (the job's ``run`` then
        raises it too) and :class:`WorkerError` if our own code failed there.
        """
        try:
            answer = await self._client.rpc(node).fairshare_kill(job_id=job_id)
        except OSError as exc:
            raise self._lost(node, exc) from exc
        if answer.get("status") != "OK":
            raise WorkerError(str(answer.get("text") or "unknown error"))

    def _lost(self, node: str, exc: BaseException) -> WorkerLost:
        log.warning("the connection to worker %s broke: %r", node, exc)
        self._suspects[node] = time.monotonic() + SUSPECT_SECONDS
        return WorkerLost(f"The connection to worker {node} broke ({type(exc).__name__}: {exc}).")

    def _scheduler(self) -> Any:
        """The client's handle on the scheduler, there once the client is connected."""
        if self._client.scheduler is None:
            raise RuntimeError("The pool's Dask client is not connected; start it before the dispatcher.")
        return self._client.scheduler

    def _site(self, info: dict[str, Any]) -> str:
        return site_of(str(info.get("name", "")), self._default_site)

    def _node(self, address: str, info: dict[str, Any]) -> Node:
        return Node(address, self._site(info), float(info.get("nthreads", 1)),
                    int(info.get("memory_limit") or 0) or 2**62, int(info.get("resources", {}).get("GPU", 0)))

    async def _warm_up(self, workers: list[str]) -> None:
        try:
            await self._client.run(warm_up, workers=workers)
        except Exception:  # noqa: BLE001 - a worker that cannot warm up starts its processes on its first job
            log.warning("warming up workers %s failed", workers, exc_info=True)

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


_LIVE = frozenset({EventType.OUTPUT.value, EventType.PROGRESS.value})


class _NoHandler(OSError):
    """The worker answered without our handler: it joined and has not installed the plugin yet."""


async def _read(comm: Connection) -> dict[str, Any]:
    message = await comm.read()
    if not isinstance(message, dict):  # distributed answers None for an op it has no handler for
        raise _NoHandler(f"the worker has no {HANDLER} handler yet")
    return message


def _report(message: dict[str, Any]) -> Report:
    """The report part of the handler's last message (``execution.worker.plugin`` builds it)."""
    return Report(
        state=message["state"], reason=message["reason"], error=message["error"], result=message["result"],
        cpu_seconds=float(message["cpu_seconds"]), wall_seconds=float(message["wall_seconds"]),
        peak_memory=int(message["peak_memory"]),
    )
