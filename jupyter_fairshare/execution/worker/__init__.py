"""What runs inside a Dask worker: the plugin and its handlers, the runner, kept job processes, output batching."""

from .plugin import ERROR, HANDLER, KILL_HANDLER, REPORT, Connection, DirectRuns, fairshare_run, framed
from .processes import PRELOAD, warm_up
from .runner import kill_job, run_job

__all__ = [
    "ERROR",
    "HANDLER",
    "KILL_HANDLER",
    "PRELOAD",
    "REPORT",
    "Connection",
    "DirectRuns",
    "fairshare_run",
    "framed",
    "kill_job",
    "run_job",
    "warm_up",
]
