"""The pool's scheduling policy: pure, deterministic, no I/O and no clock.

Who runs next (fair share plus age, :mod:`.fairshare`), the newcomer floor
(:mod:`.reserve`), where (:mod:`.placement`, over the free resources of :mod:`.capacity`),
when a waiting job should start (:mod:`.estimates`, :mod:`.standings`), the incremental
state that ties them together (:mod:`.scheduler`, with its queues in :mod:`.heads`),
and a simulator that replays a workload through that same code (:mod:`.simulate`).
"""

from .fairshare import age_factor, billing_units, components, decay, fairshare_factor
from .placement import fits_somewhere, order_nodes, place
from .reserve import reserve_active, reserve_target
from .scheduler import Scheduler
from .simulate import Run, SimResult, Submission, jain_index, simulate
from .types import (
    AccountState,
    Node,
    PolicyConfig,
    QueuedJob,
    RunningJob,
    SiteState,
    Standing,
    Start,
)

__all__ = [
    "AccountState",
    "Node",
    "PolicyConfig",
    "QueuedJob",
    "Run",
    "RunningJob",
    "Scheduler",
    "SimResult",
    "SiteState",
    "Standing",
    "Start",
    "Submission",
    "age_factor",
    "billing_units",
    "components",
    "decay",
    "fairshare_factor",
    "fits_somewhere",
    "jain_index",
    "order_nodes",
    "place",
    "reserve_active",
    "reserve_target",
    "simulate",
]
