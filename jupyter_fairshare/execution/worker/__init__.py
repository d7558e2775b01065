"""What runs inside a Dask worker: the plugin and its handlers, the runner, kept job processes, output batching."""

from .plugin import DirectRuns, framed, run_job_direct
from .processes import warm_up
from .runner import kill_job, run_job

__all__ = ["DirectRuns", "framed", "kill_job", "run_job", "run_job_direct", "warm_up"]
