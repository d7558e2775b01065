"""The worker side: run a fairshare job in its own process on a Dask worker.

The pool's dispatcher calls a chosen worker's ``fairshare_run`` handler, which
:class:`DirectRuns` installs and which runs :func:`run_job`; to cancel, it calls the
``fairshare_kill`` handler, which runs :func:`kill_job`. User code runs only in job processes forked from a per-worker
zygote (see ``job/zygote.py``), never in the worker or the pool.
"""
