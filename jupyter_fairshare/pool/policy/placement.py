"""Where a job runs: a node with room now, at the greenest, then cheapest, site.

Placement is separate from ordering: the scheduler decides *which* job goes next and asks
this module *where*. Nodes are tried in a fixed preference order (site carbon intensity,
then site price, then node name) and the first node with room wins, so the scheduler can
sort the nodes once per capacity change instead of once per decision.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from .types import Node, QueuedJob, SiteState

Free = tuple[float, int, int]


def preference(node: Node, sites: Mapping[str, SiteState]) -> tuple[float, float, str]:
    """Sort key of a node: lower carbon intensity first, then lower price, then name.

    A node whose site publishes no signal goes last rather than being refused.
    """
    site = sites.get(node.site)
    if site is None:
        return (math.inf, math.inf, node.name)
    return (site.carbon_intensity, site.cpu_price, node.name)


def order_nodes(nodes: Iterable[Node], sites: Mapping[str, SiteState]) -> list[Node]:
    """Nodes in the order placement tries them."""
    return sorted(nodes, key=lambda node: preference(node, sites))


def has_room(free: Sequence[float], cpus: float, memory: float, gpus: float) -> bool:
    """Whether ``free`` covers a request in every resource."""
    return free[0] >= cpus and free[1] >= memory and free[2] >= gpus


def first_fit(
    job: QueuedJob, ordered: Sequence[Node], free: Mapping[str, Free], exclude: str | None = None,
    prefer: str | None = None,
) -> Node | None:
    """The first node of ``ordered`` at the job's site with room for it now, if any; the
    node named ``prefer`` first when it is one of them."""
    if prefer is not None:
        for node in ordered:
            if node.name == prefer:
                if _fits(job, node, free, exclude):
                    return node
                break
    for node in ordered:
        if _fits(job, node, free, exclude):
            return node
    return None


def _fits(job: QueuedJob, node: Node, free: Mapping[str, Free], exclude: str | None) -> bool:
    if (job.site is not None and node.site != job.site) or node.name == exclude:
        return False
    room = free.get(node.name)
    return room is not None and has_room(room, job.cpus, job.memory, job.gpus)


def place(
    job: QueuedJob, free: Mapping[str, Free], nodes: Sequence[Node], sites: Mapping[str, SiteState]
) -> Node | None:
    """The node to run ``job`` on now, or ``None`` when no node at its site has room."""
    return first_fit(job, order_nodes(nodes, sites), free)


def fits_somewhere(job: QueuedJob, nodes: Sequence[Node]) -> bool:
    """Whether the job could ever run here: some node's whole capacity covers it."""
    return any(
        (job.site is None or node.site == job.site)
        and has_room((node.cpus, node.memory, node.gpus), job.cpus, job.memory, job.gpus)
        for node in nodes
    )
