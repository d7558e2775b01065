"""The worker's side of job processes: its zygote, and forked job processes kept in reserve.

Everything here runs in the Dask worker process. ``take()`` hands out a job process that is
already forked and waiting, and ``refill()`` asks the zygote for the next ones once a job has
ended, so the cost a job pays for its own process is a pipe write.
"""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
import threading

from . import frames

# Native thread pools read these at start: the zygote and its job processes run with one
# thread each, and a job given more cpus raises them (``child``).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


class JobProcess:
    """A forked job process waiting for its one job, seen through the worker's pipe ends."""

    def __init__(self, stdout_fd: int, stderr_fd: int, ctl_fd: int, msg_fd: int) -> None:
        self.stdout_fd = stdout_fd
        self.stderr_fd = stderr_fd
        self.ctl_fd = ctl_fd
        self.msg_fd = msg_fd
        self.pid = 0

    def wait_ready(self) -> int:
        """Block until the process announces itself (normally it already has); its pid."""
        kind, meta, _ = frames.read(self.msg_fd)
        if kind != frames.READY:
            raise EOFError("A fairshare job process spoke before it was given a job.")
        self.pid = int(meta["pid"])
        return self.pid

    def send_job(self, meta: dict, payload: bytes) -> bool:
        """Hand the process its job (it takes only one); False if it died before taking it."""
        try:
            frames.write(self.ctl_fd, frames.JOB, meta, payload)
        except BrokenPipeError:
            return False
        finally:
            self.close_control()
        return True

    def close_control(self) -> None:
        if self.ctl_fd >= 0:
            os.close(self.ctl_fd)
            self.ctl_fd = -1

    def close(self) -> None:
        """Release the worker's pipe ends (closing the control pipe lets a spare exit)."""
        self.close_control()
        for name in ("stdout_fd", "stderr_fd", "msg_fd"):
            fd = getattr(self, name)
            if fd >= 0:
                os.close(fd)
                setattr(self, name, -1)


class Zygote:
    """Handle on the zygote process that forks job processes for this worker."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        # Thread settings from the start: importing this package already loads NumPy.
        env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1", **dict.fromkeys(THREAD_VARIABLES, "1")}
        self.process = subprocess.Popen(
            [sys.executable, "-u", "-m", "jupyter_fairshare.execution.zygote", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            env=env,
        )
        theirs.close()
        self._sock = ours

    def alive(self) -> bool:
        return self.process.poll() is None

    def fork(self) -> JobProcess:
        """Ask for a new job process wired to fresh pipes; it readies itself in the background."""
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        ctl_r, ctl_w = os.pipe()
        msg_r, msg_w = os.pipe()
        try:
            socket.send_fds(self._sock, [b"f"], [out_w, err_w, ctl_r, msg_w])
        finally:
            for fd in (out_w, err_w, ctl_r, msg_w):
                os.close(fd)
        return JobProcess(out_r, err_r, ctl_w, msg_r)

    def close(self) -> None:
        """Stop the zygote: it kills its running job processes when its socket closes."""
        self._sock.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


_lock = threading.Lock()
_zygote: Zygote | None = None
_spares: list[JobProcess] = []
SPARES = 2  # job processes kept forked and rehearsed, waiting for a job


def take() -> JobProcess:
    """A ready job process for one job; call ``refill`` once the job has ended."""
    for _ in range(2):
        with _lock:
            if _zygote is None or not _zygote.alive():
                _restart()
            assert _zygote is not None
            job = _spares.pop(0) if _spares else _zygote.fork()
        try:
            job.wait_ready()
            return job
        except EOFError:
            job.close()
            with _lock:
                _discard()
    raise RuntimeError("The worker could not start a job process twice in a row; restart this worker.")


def refill() -> None:
    """Fork reserve job processes up to ``SPARES``, after a job rather than during it.

    With two in reserve, the next job finds one ready even while the other is still being
    forked and rehearsed, and that work (a few ms of CPU) no longer competes with the job
    it was meant to speed up.
    """
    with _lock:
        while _zygote is not None and _zygote.alive() and len(_spares) < SPARES:
            _spares.append(_zygote.fork())


def warm_up() -> int:
    """Start the zygote and the reserve job processes now rather than on the first job; the zygote's pid."""
    with _lock:
        if _zygote is None or not _zygote.alive():
            _restart()
        assert _zygote is not None
        return _zygote.process.pid


def _restart() -> None:
    global _zygote
    _discard()
    _zygote = Zygote()
    _spares.extend(_zygote.fork() for _ in range(SPARES))


def _discard() -> None:
    global _zygote
    while _spares:
        _spares.pop().close()
    if _zygote is not None:
        _zygote.close()
        _zygote = None


def shutdown() -> None:
    """Stop the zygote and its reserve (at interpreter exit, so no process outlives us)."""
    with _lock:
        _discard()


atexit.register(shutdown)
