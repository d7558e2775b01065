"""The job process: forked from the zygote, it runs exactly one job and exits.

Its stdout and stderr are pipes the worker streams from; its control pipe brings the job in
and its message pipe takes progress and the outcome out. It reports its own CPU time and
peak memory, since it is the zygote, not the worker, that reaps it.
"""

from __future__ import annotations

import mmap
import os
import resource
import sys
from typing import NoReturn

import cloudpickle

from jupyter_fairshare import wire
from jupyter_fairshare.wire import CallTask, CellTask, Outcome

from . import frames
from .jobprocess import THREAD_VARIABLES
from .tasks import failure, run_task
from .versions import module_warnings



def serve(ctl_fd: int, msg_fd: int) -> NoReturn:
    """Announce readiness, wait for one job, run it, send the outcome, exit."""
    rehearse()
    frames.write(msg_fd, frames.READY, {"pid": os.getpid()})
    try:
        _, meta, payload = frames.read(ctl_fd)
    except EOFError:
        os._exit(0)  # a spare the worker discarded
    os.close(ctl_fd)
    baseline = _cpu_seconds()
    threads = max(1, int(meta["limits"].get("cpus") or 1))
    # Native thread pools read these at import; NumPy's, imported by the zygote with one
    # thread, is raised here instead.
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    if threads > 1 and "numpy" in sys.modules:
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
        outcome = run_task(task, threads, lambda done, total: frames.write(msg_fd, frames.PROGRESS, {"done": done, "total": total}))
    blob = dump_outcome(outcome)

    cpu_seconds = _cpu_seconds() - baseline
    peak = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    sys.stdout.flush()
    sys.stderr.flush()
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
        },
        blob,
    )
    os._exit(0)


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
            print(f"fairshare warning: variable {name!r} ({type(value).__name__}) cannot be sent back and was left out.", file=sys.stderr)
    if not _pickles(outcome.value):
        print(f"fairshare warning: the result ({type(outcome.value).__name__}) cannot be sent back and was left out.", file=sys.stderr)
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

