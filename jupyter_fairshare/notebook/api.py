"""The Python API: a :class:`Pool` to submit work to, and the :class:`Job` futures it returns.

``Pool`` turns a function call, a cell or a Dask graph into one payload and one request;
``Job`` (in :mod:`.job`) follows the job through the pool's event stream and turns the result
blob back into a value, or into the error that says why there is none.
"""

from __future__ import annotations

import ast
import contextlib
import os
import re
import socket
import sys
import uuid
from collections.abc import Callable, Generator, Iterable
from typing import Any

from .. import spoolfiles, wire
from ..client import Client, errors
from ..client.settings import resolve
from .job import Job
from .outcomes import version_here

__all__ = ["Job", "Pool", "connect", "parse_duration"]

# Payloads above this size are checked against the pool's published limit before sending,
# so a too-large payload fails at once instead of after an upload of gigabytes.
_CHECK_LIMIT_ABOVE = 1 << 20
_SPOOL_ABOVE = 8 << 20  # payloads this large are written into a local pool's spool, not uploaded

_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([smhd]?)\s*$")
_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: str | float | int | None) -> float | None:
    """Seconds in ``"90s"``, ``"30m"``, ``"2h"``, ``"1d"`` or a plain number of seconds."""
    if value is None or isinstance(value, (int, float)):
        return None if value is None else float(value)
    match = _DURATION.match(value)
    if match is None:
        raise errors.BadRequest(
            f"The duration {value!r} is not understood; write it like 90s, 30m, 2h or 1d."
        )
    return float(match.group(1)) * _UNITS[match.group(2)]


def _cell_versions(task: wire.CallTask | wire.CellTask | wire.GraphTask) -> dict[str, Any]:
    """For a cell, the header's versions with those of the packages it imports (from its
    AST) added, so the worker can name both versions of any it has in another version.

    The payload header otherwise names only the packages of the cell's inputs, and a cell
    that imports pandas itself would meet the worker's pandas unannounced.
    """
    if not isinstance(task, wire.CellTask):
        return {}
    imported = _imports(task.source)
    if not imported:
        return {}
    inputs = {getattr(v, "__module__", None) or type(v).__module__ for v in task.inputs.values()}
    versions = {**wire.referenced_versions({m for m in inputs if m not in ("builtins", "__main__")})}
    for name in sorted(imported - versions.keys()):
        version = version_here(name)
        if version is not None:
            versions[name] = version
    return {"versions": {**wire.runtime_versions(), **versions}}


def _imports(source: str) -> set[str]:
    """Top-level packages a cell's source imports (absolute imports only), or none if it does not parse."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        try:
            from IPython.core.inputtransformer2 import TransformerManager  # a cell with magics

            tree = ast.parse(TransformerManager().transform_cell(source))
        except (ImportError, SyntaxError):
            return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names}


def connect(url: str | None = None, token: str | None = None) -> Pool:
    """Connect to a pool: the arguments, else FAIRSHARE_URL/TOKEN, the config file or the embedded pool."""
    settings = resolve(url, token)
    return Pool(settings.url, settings.token)


class Pool:
    """A fair-share pool reached over HTTP, holding one persistent connection."""

    def __init__(self, url: str, token: str | None = None, *, client: Client | None = None) -> None:
        self.client = client or Client(url, token)
        self.url = self.client.url
        self._payload_limit: int | None = None
        self._spool: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"<fairshare.Pool {self.url}>"

    def close(self) -> None:
        """Close the pool's connections."""
        self.client.close()

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- submitting -----------------------------------------------------------------

    def submit(
        self,
        func: Callable[..., Any],
        *args: Any,
        cpus: float = 1,
        memory: int | str = "2GB",
        gpus: int = 0,
        max_cost: float | None = None,
        deadline: str | float | None = None,
        site: str | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> Job:
        """Run ``func(*args, **kwargs)`` on the pool; returns at once with the :class:`Job`."""
        task = wire.CallTask(func, tuple(args), dict(kwargs))
        return self.submit_task(
            task,
            name=name or str(getattr(func, "__qualname__", type(func).__name__)),
            cpus=cpus,
            memory=memory,
            gpus=gpus,
            max_cost=max_cost,
            deadline=deadline,
            site=site,
        )

    def map(self, func: Callable[..., Any], *iterables: Iterable[Any], **resources: Any) -> list[Job]:
        """Submit ``func`` once per item (zipped over ``iterables``); one job each."""
        return [self.submit(func, *items, **resources) for items in zip(*iterables, strict=False)]

    def submit_task(
        self,
        task: wire.CallTask | wire.CellTask | wire.GraphTask,
        *,
        name: str = "",
        cpus: float = 1,
        memory: int | str = "2GB",
        gpus: int = 0,
        max_cost: float | None = None,
        deadline: str | float | None = None,
        site: str | None = None,
        wait: float | None = None,
        notebook: str | None = None,
        cell: str | None = None,
    ) -> Job:
        """Serialise a task and submit it; ``wait`` holds the request that long for a short job.

        The id is chosen here, so an interrupt that lands while the submission is in flight
        can still cancel the job, and a retried submission cannot run it twice.
        """
        kind = {wire.CallTask: "call", wire.CellTask: "cell", wire.GraphTask: "graph"}[type(task)]
        head, pieces = wire.frames(task, **_cell_versions(task))
        size = wire.size(pieces)
        self._check_size(size)
        meta = {
            "kind": kind,
            "name": name[:200],
            "cpus": cpus,
            "memory": memory,
            "gpus": gpus,
            "max_cost": max_cost,
            "deadline": parse_duration(deadline),
            "site": site,
            "versions": head.get("versions", {}),
            "id": uuid.uuid4().hex,
            "notebook": notebook,
            "cell": cell,
        }
        try:
            spooled = self._spool_locally(pieces, size)
            if spooled is not None:
                return Job(self, self.client.submit(b"", meta, wait=wait, payload_file=spooled))
            return Job(self, self.client.submit(b"".join(pieces), meta, wait=wait))
        except KeyboardInterrupt:
            with contextlib.suppress(errors.FairshareError):
                self.client.cancel(meta["id"])
            raise

    def _spool_locally(self, pieces: list[Any], size: int) -> str | None:
        """Write a large payload straight into the pool's spool when the pool runs on this
        machine, instead of uploading it: one copy of the data instead of three. Returns the
        file's name, or None where that cannot be done (the payload is then uploaded)."""
        if size <= _SPOOL_ABOVE or not self.client.on_this_host():
            return None
        if self._spool is None:
            try:
                self._spool = self.client.spool()
            except errors.FairshareError:
                self._spool = {}
        directory = self._spool.get("path")
        if not directory or self._spool.get("host") != socket.gethostname() or not os.access(directory, os.W_OK):
            return None
        name = f"{uuid.uuid4().hex}.part"
        with spoolfiles.new_file(os.path.join(directory, name), size) as handle:
            for piece in pieces:
                handle.write(piece)
        return name

    def _check_size(self, size: int) -> None:
        if size <= _CHECK_LIMIT_ABOVE:
            return
        if self._payload_limit is None:
            limit = self.client.public("sites").get("payload_limit")
            self._payload_limit = int(limit) if isinstance(limit, (int, float)) else 0
        if 0 < self._payload_limit < size:
            raise errors.PayloadTooLarge(
                f"The payload is {size} bytes but this pool accepts at most {self._payload_limit} bytes; "
                "send less data, e.g. load it on the worker.",
                limit=self._payload_limit,
                size=size,
            )

    # -- looking -------------------------------------------------------------------

    def job(self, job_id: str) -> Job:
        """The job with this id (of this account)."""
        return Job(self, self.client.job(job_id))

    def jobs(self, state: str | None = None, limit: int | None = None) -> list[Job]:
        """This account's jobs, newest first."""
        return [Job(self, info) for info in self.client.jobs(state=state, limit=limit)]

    def account(self) -> dict[str, Any]:
        """Tier, shares, credits, held, balance and usage of this account."""
        return self.client.account()

    def prices(self) -> Any:
        """Each site's published prices with their cost breakdown."""
        return self.client.public("prices")

    # -- Dask ------------------------------------------------------------------------

    def get(self, dsk: Any, keys: Any, **kwargs: Any) -> Any:
        """A Dask scheduler ``get``: the whole graph runs as one job; see :mod:`.daskget`."""
        from .daskget import graph_get  # here, not at the top: a kernel that never uses Dask never loads it

        return graph_get(self.submit_task, dsk, keys, **kwargs)

    def compute(self, *collections: Any, **kwargs: Any) -> Any:
        """Compute Dask collections as one job; one collection gives its value, several a tuple."""
        import dask

        results = dask.compute(*collections, scheduler=self.get, **kwargs)
        return results[0] if len(collections) == 1 else results

    @contextlib.contextmanager
    def as_default(self) -> Generator[Pool, None, None]:
        """Within the block, every Dask ``compute`` runs on this pool."""
        import dask

        with dask.config.set(scheduler=self.get):
            yield self
