"""jupyter-fairshare: run a notebook cell, a function or a Dask graph on a fair-share pool.

    %load_ext jupyter_fairshare
    %%fairshare --cpus 2 --max-cost 1.50

    import jupyter_fairshare as fs
    pool = fs.connect()
    job = pool.submit(func, x)
    job.result()
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .client.errors import (
        BadRequest,
        BadToken,
        CreditsTooLow,
        FairshareError,
        JobCancelled,
        JobFailed,
        JobNotFound,
        MaxCostReached,
        NotSerializable,
        PayloadTooLarge,
        PoolError,
        PoolUnreachable,
        RemoteError,
        VersionMismatch,
        WorkerLost,
    )
    from .notebook.api import Job, Pool, connect

_LAZY = {"Job", "Pool", "connect"}
# The errors too: the pool and the job processes import this package, and must not load the client.
_ERRORS = {
    "BadRequest",
    "BadToken",
    "CreditsTooLow",
    "FairshareError",
    "JobCancelled",
    "JobFailed",
    "JobNotFound",
    "MaxCostReached",
    "NotSerializable",
    "PayloadTooLarge",
    "PoolError",
    "PoolUnreachable",
    "RemoteError",
    "VersionMismatch",
    "WorkerLost",
}


def __getattr__(name: str) -> object:
    """``Job``, ``Pool``, ``connect`` and the errors are imported on first use: the pool and the
    job processes on the workers import this package too, the pool must load nothing of the
    client, and every megabyte a job process brings is copied into the page tables of each job
    process its zygote forks."""
    if name in _ERRORS:
        from .client import errors

        return getattr(errors, name)
    if name in _LAZY:
        from .notebook import api

        return getattr(api, name)
    raise AttributeError(f"module 'jupyter_fairshare' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY | _ERRORS)


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext jupyter_fairshare``: register ``%%fairshare`` and ``%fairshare``."""
    from .notebook.magics import load_ipython_extension as load

    load(ipython)


def _jupyter_server_extension_points() -> list[dict[str, object]]:
    """Where Jupyter server finds the extension; imported here so kernels never load jupyter_server."""
    from .server import FairShare

    return [{"module": "jupyter_fairshare.server", "app": FairShare}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where JupyterLab finds the sidebar, built into the package by the labextension's build."""
    return [{"src": "labextension", "dest": "jupyter-fairshare"}]


__all__ = [
    "BadRequest",
    "BadToken",
    "CreditsTooLow",
    "FairshareError",
    "Job",
    "JobCancelled",
    "JobFailed",
    "JobNotFound",
    "MaxCostReached",
    "NotSerializable",
    "PayloadTooLarge",
    "Pool",
    "PoolError",
    "PoolUnreachable",
    "RemoteError",
    "VersionMismatch",
    "WorkerLost",
    "connect",
    "load_ipython_extension",
]
