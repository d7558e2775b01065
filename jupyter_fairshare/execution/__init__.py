"""Running a fairshare job on a Dask worker, in a process of its own.

Two sides, one importing nothing of the other:

- ``worker/`` runs inside the Dask worker: the plugin whose ``fairshare_run`` handler the
  pool's dispatcher calls (it streams the job's output and then its report back on that
  call's connection) and whose ``fairshare_kill`` handler stops a job, the runner that watches
  a job process and enforces its limits, the kept and spare job processes, output batching.
- ``job/`` runs in the zygote and the job processes forked from it: the fork server, the
  child's loop, the task kinds and display capture. User code runs only here, never in the
  worker or the pool.

``frames.py`` (the pipes between the two), ``threads.py`` and ``versions.py`` are shared.
"""
