"""The zygote: a process that has imported everything a job needs and forks job processes.

One zygote runs per Dask worker. Forking it costs a millisecond or two, where starting a
fresh interpreter and importing IPython, cloudpickle, dask and NumPy costs half a second; the
worker also keeps two forked job processes in reserve so a job does not even wait for the fork.

The zygote stays single-threaded (forking a threaded process is unsafe), ignores SIGCHLD so
the kernel reaps its children, and when the worker goes away (its socket closes) it kills
the job processes still running and exits.
"""

from __future__ import annotations

import gc
import os
import signal
import socket
import sys
import traceback


def main(sock_fd: int, preload: list[str]) -> None:
    """Fork one job process per request on ``sock_fd`` until the worker closes it, having
    imported the modules of ``preload`` that are installed."""
    import dask.callbacks  # noqa: F401
    import dask.threaded  # noqa: F401 - preloaded for graph jobs

    from . import child

    _preload(["numpy", *preload])

    # One rehearsal here fills the caches that pickling, running a cell and IPython's
    # formatter build on first use; every job process then inherits them instead of
    # building them again (which halves what its own rehearsal costs).
    child.rehearse()

    # Keep the collector off the preloaded objects: touching them would copy their pages
    # into every forked job process.
    gc.collect()
    gc.freeze()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    sock = socket.socket(fileno=sock_fd)
    children: set[int] = set()
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(sock, 16, 4)
        except OSError:
            break
        if not msg:
            break
        pid = os.fork()
        if pid == 0:
            sock.close()
            os.setsid()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            out, err, ctl, message = fds
            os.dup2(out, 1)
            os.dup2(err, 2)
            os.close(out)
            os.close(err)
            try:
                child.serve(ctl, message)
            except BaseException:  # noqa: BLE001 - a fork must never fall back into this loop
                traceback.print_exc()
            finally:
                os._exit(70)
        for fd in fds:
            os.close(fd)
        children = {p for p in children if _alive(p)} | {pid}
    for pid in children:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue


def _preload(modules: list[str]) -> None:
    """Import the modules the operator named (``preload`` in the pool's config) where they
    are installed: a job that imports pandas or scikit-learn otherwise pays 0.5-3 s for it,
    and NumPy, which most payloads from notebooks carry, 50-90 ms. The zygote is started with
    one-thread settings for native thread pools (``execution.threads``), so its BLAS starts
    one thread and the zygote stays single-threaded (a forked thread pool is unsafe, and
    fork would run BLAS's shutdown and restart each time); a job given more cpus raises it.
    A module that is missing is skipped; one that fails or starts a thread says so on the
    worker's log and is left as it is."""
    import importlib

    for name in dict.fromkeys(modules):
        try:
            importlib.import_module(name)
        except ImportError:
            continue
        except Exception as exc:  # noqa: BLE001 - a broken module must not stop the worker's jobs
            print(f"fairshare: preloading {name} failed ({type(exc).__name__}: {exc}); "
                  "fix it or take it out of the pool's preload setting.", file=sys.stderr)
            continue
        if _threads() > 1:
            print(f"fairshare: preloading {name} started a thread, so job processes forked from here "
                  "are not kept between jobs; take it out of the pool's preload setting.", file=sys.stderr)


def _threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 1


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


if __name__ == "__main__":
    main(int(sys.argv[1]), [name for name in sys.argv[2:] if name])
