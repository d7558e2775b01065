"""A Dask scheduler ``get`` that runs a whole graph on the pool as one job.

One job per graph, not one per task: the pool's queue orders and bills whole pieces of
work, and a graph of thousands of small tasks would otherwise pay the queue's latency
thousands of times. Inside the job the worker runs the graph with Dask's own scheduler.

Dask passes ``get(dsk, keys, **kwargs)``; ``keys`` is one key or nested lists of keys and
the result has the same nesting. The keyword arguments Dask forwards to every scheduler
are accepted and ignored; the pool's resource options (``cpus``, ``memory``, ``gpus``,
``max_cost``, ``deadline``, ``site``, ``name``) are used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from dask.core import flatten
from dask.utils import ensure_dict

from .. import wire
from .job import Job

__all__ = ["graph_get", "graph_task"]

_RESOURCES = ("cpus", "memory", "gpus", "max_cost", "deadline", "site", "name")


def graph_task(dsk: Any, keys: Any) -> wire.GraphTask:
    """The task for computing ``keys`` of ``dsk``; a key not in the graph raises ``KeyError``."""
    graph = dict(ensure_dict(dsk if isinstance(dsk, Mapping) else dsk.__dask_graph__()))
    for key in _flat_keys(keys):
        if key not in graph:
            raise KeyError(key)
    return wire.GraphTask(dsk=graph, keys=keys)


def graph_get(submit: Callable[..., Job], dsk: Any, keys: Any, **kwargs: Any) -> Any:
    """Compute ``keys`` of ``dsk`` as one job and return the results, nested as ``keys``.

    ``submit`` is a pool's ``submit_task``: this module needs nothing else of the pool, so it
    and :mod:`.api` do not import each other.
    """
    task = graph_task(dsk, keys)
    resources = {k: kwargs[k] for k in _RESOURCES if kwargs.get(k) is not None}
    resources.setdefault("name", f"dask graph of {len(task.dsk)} tasks")
    job = submit(task, **resources)
    job.follow()
    return job.result()


def _flat_keys(keys: Any) -> Iterator[Any]:
    if isinstance(keys, list):
        yield from flatten(keys)
    else:
        yield keys
