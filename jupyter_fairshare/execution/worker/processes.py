"""The worker's side of job processes: its zygote, forked job processes kept in reserve, and
job processes kept after their job for the same account's next one.

Everything here runs in the Dask worker process. ``take()`` hands out a job process that is
already forked and waiting, and ``refill()`` asks the zygote for the next ones once a job has
ended, so the cost a job pays for its own process is a pipe write. ``keep()`` holds on to a
process whose job left it fit for another (``child.serve`` decides), for at most ``KEPT``
processes and ``KEPT_SECONDS`` each; ``take(account_key, notebook_key)`` prefers one kept
for that account and notebook.
"""

from __future__ import annotations

import atexit
import os
import select
import socket
import subprocess
import sys
import threading
import time
from typing import Any

from .. import frames
from ..threads import THREAD_VARIABLES


class JobProcess:
    """A forked job process waiting for a job, seen through the worker's pipe ends."""

    def __init__(self, stdout_fd: int, stderr_fd: int, ctl_fd: int, msg_fd: int) -> None:
        self.stdout_fd = stdout_fd
        self.stderr_fd = stderr_fd
        self.ctl_fd = ctl_fd
        self.msg_fd = msg_fd
        self.pid = 0
        self.notebook: str | None = None  # the notebook whose cells it runs, once kept for one

    def wait_ready(self) -> int:
        """Block until the process announces itself (normally it already has); its pid."""
        kind, meta, _ = frames.read(self.msg_fd)
        if kind != frames.READY:
            raise EOFError("A fairshare job process spoke before it was given a job.")
        self.pid = int(meta["pid"])
        return self.pid

    def send_job(self, meta: dict[str, Any], payload: bytes) -> bool:
        """Hand the process a job; False if it died before taking it."""
        try:
            frames.write(self.ctl_fd, frames.JOB, meta, payload)
        except BrokenPipeError:
            return False
        return True

    def waiting(self) -> bool:
        """Whether a kept process still waits for a job: one that died has its pipe at its end."""
        return not select.select([self.msg_fd], [], [], 0)[0]

    def close(self) -> None:
        """Release the worker's pipe ends (closing the control pipe lets a waiting process exit)."""
        for name in ("ctl_fd", "stdout_fd", "stderr_fd", "msg_fd"):
            fd = getattr(self, name)
            if fd >= 0:
                os.close(fd)
                setattr(self, name, -1)


class Zygote:
    """Handle on the zygote process that forks job processes for this worker, having imported
    the modules of ``preload`` that are installed."""

    def __init__(self, preload: tuple[str, ...] = ()) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        # Thread settings from the start: importing this package already loads NumPy. Arrow
        # (which pandas loads) starts a jemalloc thread at import unless told not to, and a
        # zygote with a thread could neither fork safely nor give processes fit to keep.
        env = {"JE_ARROW_MALLOC_CONF": "background_thread:false", **os.environ, "MPLBACKEND": "Agg",
               "PYTHONUNBUFFERED": "1", **dict.fromkeys(THREAD_VARIABLES, "1")}
        self.preload = preload
        self.process = subprocess.Popen(
            [sys.executable, "-u", "-m", "jupyter_fairshare.execution.job.zygote", str(theirs.fileno()), *preload],
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
# (account key, notebook key, since, process), oldest first
_kept: list[tuple[str, str | None, float, JobProcess]] = []
PRELOAD = ("numpy", "pandas", "sklearn")  # what the zygote imports unless the pool says otherwise
_preload: tuple[str, ...] = PRELOAD
SPARES = 2  # job processes kept forked and rehearsed, waiting for a job
# Job processes kept after their job, each for its account's (and notebook's) next job. One
# that ran a pandas cell holds about 15 MiB of its own (the rest it shares with the zygote),
# and each notebook of each account now keeps one, so a handful would be too few.
KEPT = 8
KEPT_SECONDS = 300.0


def take(account_key: str | None = None, notebook_key: str | None = None) -> JobProcess:
    """A ready job process for one job; call ``refill`` once the job has ended.

    A process kept for ``account_key`` is preferred: the one that ran the same notebook's
    previous cell (``notebook_key``), so that what a cell leaves in its modules (a seed, a
    style) is there for the notebook's next cell however many other jobs ran in between,
    else one that ran none of the account's notebooks. A job of no notebook may also take the
    account's oldest; a notebook's cell never takes another notebook's process (it would
    find that notebook's module state, and leave that notebook without it).
    """
    if account_key is not None:
        with _lock:
            _expire()
            found = _find(account_key, notebook_key)
            job = None if found is None else _kept.pop(found)[3]
        if job is not None:
            if job.waiting():
                return job
            job.close()
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


def _find(account_key: str, notebook_key: str | None) -> int | None:
    """Where in ``_kept`` the process for this account and notebook is (see ``take``)."""
    mine = [i for i, (account, _, _, _) in enumerate(_kept) if account == account_key]
    if not mine:
        return None
    for wanted in ((notebook_key,) if notebook_key is not None else ()) + (None,):
        found = [i for i in mine if _kept[i][1] == wanted]
        if found:
            return found[-1]
    return mine[0] if notebook_key is None else None


def keep(account_key: str, job: JobProcess, notebook_key: str | None = None) -> None:
    """Hold on to a job process that said it is fit for another job, for this account only,
    noting the notebook whose cell it ran (a job of no notebook leaves the earlier one's claim)."""
    job.notebook = notebook_key or job.notebook
    with _lock:
        _kept.append((account_key, job.notebook, time.monotonic(), job))
        _expire()


def _expire() -> None:
    now = time.monotonic()
    while _kept and (len(_kept) > KEPT or now - _kept[0][2] > KEPT_SECONDS):
        _kept.pop(0)[3].close()


def refill() -> None:
    """Fork reserve job processes up to ``SPARES``, after a job rather than during it.

    With two in reserve, the next job finds one ready even while the other is still being
    forked and rehearsed, and that work (a few ms of CPU) no longer competes with the job
    it was meant to speed up.
    """
    with _lock:
        _expire()
        while _zygote is not None and _zygote.alive() and len(_spares) < SPARES:
            _spares.append(_zygote.fork())


def configure(preload: tuple[str, ...] | list[str]) -> None:
    """Set the modules the zygote imports ahead of jobs (``preload`` in the pool's config);
    a zygote already running with others is replaced, along with its processes."""
    global _preload
    with _lock:
        _preload = tuple(preload)
        if _zygote is not None and _zygote.preload != _preload:
            _discard()


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
    _zygote = Zygote(_preload)
    _spares.extend(_zygote.fork() for _ in range(SPARES))


def _discard() -> None:
    global _zygote
    while _spares:
        _spares.pop().close()
    while _kept:
        _kept.pop()[3].close()
    if _zygote is not None:
        _zygote.close()
        _zygote = None


def shutdown() -> None:
    """Stop the zygote and its reserve (at interpreter exit, so no process outlives us)."""
    with _lock:
        _discard()


atexit.register(shutdown)
