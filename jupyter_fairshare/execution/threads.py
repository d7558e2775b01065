"""The environment variables that size native thread pools, shared by the worker and job sides.

Native thread pools (OpenMP, OpenBLAS, MKL, numexpr) read these when they start: the worker
starts the zygote, and so every job process, with one thread each, and a job process given
more cpus raises them for its job (``job/child.py``).
"""

from __future__ import annotations

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")
