"""The job process: forked from the zygote, it runs a job, and exits or waits for the next.

Its stdout and stderr are pipes the worker streams from; its control pipe brings jobs in
and its message pipe takes progress and outcomes out. It reports its own CPU time and peak
memory per job, since it is the zygote, not the worker, that reaps it.

Forking, rehearsing and tearing down a process cost several times the CPU of a short job,
so a process may run the same account's next job on this worker, as an ipyparallel engine
or a Dask worker would; never another account's. Each job still gets a fresh namespace,
and a job that leaves threads, processes, other output streams or much memory behind ends
its process as before. Two things a job leaves behind do not end it: the modules it
imported (the memory they take is code, not data, and a fresh process would have to import
them again, which is what made a pandas cell cost half a second), and the thread pools Dask
starts for a graph, which are shut down after each job.
"""

from __future__ import annotations

import atexit
import mmap
import os
import resource
import sys
import threading
import time
from typing import NoReturn

import cloudpickle

from jupyter_fairshare import wire
from jupyter_fairshare.wire import CallTask, CellTask, Outcome

from .. import frames
from ..threads import THREAD_VARIABLES
from ..versions import module_warnings
from .tasks import failure, run_task


def serve(ctl_fd: int, msg_fd: int) -> NoReturn:
    """Announce readiness, then run jobs one at a time until told to stop or unfit for another.

    The worker asks to keep the process (``keep`` in the job's meta) only for the same
    account's next job; the process agrees only if the job left nothing behind that a fresh
    process would not have (``_Home.restore``), and otherwise exits after the job.
    """
    _adopt_orphans()
    rehearse()
    home = _Home()
    frames.write(msg_fd, frames.READY, {"pid": os.getpid()})
    while True:
        try:
            _, meta, payload = frames.read(ctl_fd)
        except EOFError:
            os._exit(0)  # a spare or a kept process the worker let go
        if not _run_one(meta, payload, msg_fd, home):
            os._exit(0)


def _run_one(meta: dict, payload: bytearray | memoryview, msg_fd: int, home: _Home) -> bool:
    """Run one job and send its outcome; whether this process stays for another job."""
    baseline = _cpu_seconds()
    children_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    _reset_peak_memory()
    threads = max(1, int(meta["limits"].get("cpus") or 1))
    # Native thread pools read these at import; NumPy's, imported by the zygote with one
    # thread, is raised here instead.
    if threads > 1:
        os.environ.update(dict.fromkeys(THREAD_VARIABLES, str(threads)))
        if "numpy" in sys.modules:
            _blas_threads(threads)

    if meta["limits"].get("payload_path"):
        payload = _mapped(meta["limits"]["payload_path"])
    for line in module_warnings(wire.header(payload).get("versions", {})):
        print(line, file=sys.stderr)
    try:
        task = wire.loads(payload)
    except BaseException as exc:  # noqa: BLE001 - a payload that cannot be unpacked is the user's failure to see
        outcome = failure(exc, skip_own_frames=False)
    else:
        del payload
        def progress(done: int, total: int) -> None:
            frames.write(msg_fd, frames.PROGRESS, {"done": done, "total": total})

        outcome = run_task(task, threads, progress)
        del task
    shut_dask_pools()
    blob = dump_outcome(outcome)

    cpu_seconds = _cpu_seconds() - baseline
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if children > children_peak:  # a child of this job, not of an earlier one, was the largest
        peak = max(peak, children)
    sys.stdout.flush()
    sys.stderr.flush()
    # A job given more cpus raised the thread pools, which a fresh process would not have.
    stay = bool(meta.get("keep")) and threads == 1 and outcome.error_type != "MemoryError" and home.restore()
    if not stay:
        # Close the output pipes before reporting, so the worker finds them at their end at
        # once instead of waiting for this process to exit (tearing it down takes a while).
        os.close(1)
        os.close(2)
    error = None if outcome.ok else _one_line(outcome)
    frames.write(
        msg_fd,
        frames.OUTCOME,
        {
            "ok": outcome.ok,
            "error": error,
            "memory_error": outcome.error_type == "MemoryError",
            "cpu_seconds": cpu_seconds,
            "peak_memory": peak * 1024,
            "kept": stay,
        },
        blob,
    )
    return stay


class _Home:
    """What a job process looks like before its first job, to tell whether a job changed it.

    A kept process must give the account's next job what a fresh one would: the same working
    directory and environment (put back), the same output streams, a single thread, no
    processes of its own and no more than ``KEEP_GROWTH`` more memory (otherwise it exits).
    A job that imported modules moves the memory mark up to what it leaves: importing is
    what a fresh process would pay again, and the mark is per account (a kept process only
    ever serves the same account). Up to ``KEEP_IMPORTS`` in all, so that a process that
    imported half of PyPI still makes way for a fresh one.
    """

    def __init__(self) -> None:
        self.cwd = os.getcwd()
        self.environ = dict(os.environ)
        self.streams = (sys.stdout, sys.stderr, sys.stdin)
        self.rss = self.first_rss = _rss()
        self.modules = len(sys.modules)

    def restore(self) -> bool:
        """Put back what is cheap to put back; whether the process is now fit for another job."""
        if (sys.stdout, sys.stderr, sys.stdin) != self.streams or not _alone():
            return False
        if os.environ != self.environ:
            os.environ.clear()
            os.environ.update(self.environ)
        try:
            if os.getcwd() != self.cwd:
                os.chdir(self.cwd)
        except OSError:
            return False
        rss = _rss()
        if rss is None or self.rss is None or self.first_rss is None:
            return False
        if len(sys.modules) > self.modules:
            self.modules = len(sys.modules)
            self.rss = max(self.rss, min(rss, self.first_rss + KEEP_IMPORTS))
        return rss - self.rss <= KEEP_GROWTH


KEEP_GROWTH = 64 * 2**20  # bytes a job may leave a kept process grown by, beyond its imports
KEEP_IMPORTS = 1 << 30  # bytes the imports of an account's jobs may grow a kept process by


def shut_dask_pools() -> None:
    """Stop the thread pools ``dask.threaded`` started for this job's graphs or ``compute``
    calls: left running, their threads would make the process unfit to keep, and a fresh
    pool for the next graph costs a fraction of a millisecond."""
    threaded = sys.modules.get("dask.threaded")
    if threaded is None:
        return
    with threaded.pools_lock:
        found = [threaded.default_pool] if threaded.default_pool is not None else []
        threaded.default_pool = None
        for by_size in threaded.pools.values():
            found.extend(by_size.values())
        threaded.pools.clear()
    for pool in found:
        pool.shutdown(wait=True)
        atexit.unregister(pool.shutdown)


def _alone() -> bool:
    """Whether this process has one thread and no child processes left (Linux only; elsewhere
    it cannot tell, and says no)."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:  # reap what the job's children left
            continue
    except ChildProcessError:
        pass
    try:
        tasks = os.listdir("/proc/self/task")
        # A thread that was joined (a Dask pool shut down) can still be listed for a moment
        # while the system finishes it; give it up to 50 ms before calling it left behind.
        for _ in range(50):
            if len(tasks) == 1 or threading.active_count() != 1:
                break
            time.sleep(0.001)
            tasks = os.listdir("/proc/self/task")
        if len(tasks) != 1 or threading.active_count() != 1:
            return False
        with open(f"/proc/self/task/{tasks[0]}/children") as handle:
            return not handle.read().strip()
    except OSError:
        return False


def _rss() -> int | None:
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return None


def _reset_peak_memory() -> None:
    """Start the job's peak memory from what the process holds now, not from an earlier job."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        return


def _adopt_orphans() -> None:
    """Become the parent of any process a job leaves behind by double-forking, so that
    ``_alone`` sees it (and the process is not kept) instead of it escaping unnoticed."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return


def rehearse() -> None:
    """Unpack and pack a tiny job while waiting: the first touch of the pickling machinery
    copies memory pages shared with the zygote, and that cost belongs here, not to the job."""
    for task in (CallTask(int), CellTask("x = 1\nx")):
        wire.loads(dump_outcome(run_task(wire.loads(wire.dumps(task)))))


def _blas_threads(threads: int) -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads, user_api="blas")


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _one_line(outcome: Outcome) -> str:
    message = outcome.error_message.strip().splitlines()
    return f"{outcome.error_type}: {message[0]}" if message else outcome.error_type


def dump_outcome(outcome: Outcome) -> bytes:
    """Serialise the outcome; values that do not pickle are left out with a warning, not lost silently."""
    blob = _dumps_or_none(outcome)
    if blob is not None:
        return blob
    for name, value in list(outcome.outputs.items()):
        if not _pickles(value):
            del outcome.outputs[name]
            kind = type(value).__name__
            print(f"fairshare warning: variable {name!r} ({kind}) cannot be sent back and was left out.",
                  file=sys.stderr)
    if not _pickles(outcome.value):
        print(f"fairshare warning: the result ({type(outcome.value).__name__}) cannot be sent back and was left out.",
              file=sys.stderr)
        outcome.value = None
    try:
        return wire.dumps(outcome)
    except Exception as exc:  # noqa: BLE001 - last resort: the failure itself must still travel
        return wire.dumps(failure(exc, skip_own_frames=False))


def _dumps_or_none(outcome: Outcome) -> bytes | None:
    try:
        return wire.dumps(outcome)
    except Exception:  # noqa: BLE001 - the caller finds out which value is to blame
        return None


def _pickles(value: object) -> bool:
    try:
        cloudpickle.dumps(value)
    except Exception:  # noqa: BLE001 - any failure means "does not pickle"
        return False
    return True


def _mapped(path: str) -> memoryview:
    """A large payload mapped copy-on-write: its arrays are read from the page cache, and only
    the pages a cell writes to are copied, so inputs stay writable as in a local run."""
    with open(path, "rb") as handle:
        return memoryview(mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_COPY))

