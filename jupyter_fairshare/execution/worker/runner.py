"""``run_job`` and ``kill_job``: what the pool's dispatcher calls on a Dask worker.

``run_job`` occupies one worker thread for the job's life but never runs user code in it:
it hands the payload to a job process, streams the process's output as events, enforces the
time and memory limits, and returns a :class:`~jupyter_fairshare.protocol.Report`. The
result blob inside the report is passed through as bytes; neither this thread nor the pool
unpickles it.

A stop by a limit is a failed job whose ``reason`` says which limit: ``"memory"``, or for the
wall-clock bound whatever the pool put in ``limits["wall_reason"]`` (``"time"`` for its time
limit, ``"max cost"`` when the job's cap runs out first), so the pool need not work it out.
"""

from __future__ import annotations

import os
import selectors
import signal
import threading
import time
from typing import Any

import psutil

from jupyter_fairshare import wire
from jupyter_fairshare.protocol import JobState, Limits, Report, StopReason
from jupyter_fairshare.wire import Outcome

from .. import frames
from ..versions import runtime_mismatch
from . import processes
from .output import Emit, EventBatcher

_POLL = 0.02  # seconds between memory and time checks
_TREE_EVERY = 10  # polls between looks at the job's child processes (a /proc scan)
_EARLY_KILL_TTL = 60.0
_GIVE_UP = 1.0  # seconds to wait for a killed job's pipes to close

_lock = threading.Lock()
_running: dict[str, _Run] = {}
_early_kills: dict[str, float] = {}


class _Run:
    """One running job process, shared by the thread that runs it and ``kill_job``."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.stopped: StopReason | None = None  # why we killed it, once we did
        self.stopped_at = 0.0
        self.cpu_seconds = 0.0
        self._lock = threading.Lock()
        self._looked = False
        self._handle: psutil.Process | None = None

    @property
    def _process(self) -> psutil.Process | None:
        """The job's process for measurements, looked up at the first one (a short job needs none)."""
        if not self._looked:
            self._looked = True
            try:
                self._handle = psutil.Process(self.pid)
            except psutil.NoSuchProcess:
                self._handle = None  # gone already: the watch finds its pipes closed
        return self._handle

    def sample_cpu(self) -> float:
        if self._process is None:
            return self.cpu_seconds
        try:
            t = self._process.cpu_times()
        except psutil.Error:
            return self.cpu_seconds
        self.cpu_seconds = t.user + t.system + t.children_user + t.children_system
        return self.cpu_seconds

    def rss(self, tree: bool) -> int:
        if self._process is None:
            return 0
        try:
            total = self._process.memory_info().rss
            if tree:
                for kid in self._process.children(recursive=True):
                    total += kid.memory_info().rss
        except psutil.Error:
            return 0
        return int(total)

    def kill(self, why: StopReason) -> bool:
        """Kill the job's process group; the first reason given is the one reported."""
        with self._lock:
            if self.stopped is not None:
                return True
            self.stopped = why
            self.stopped_at = time.monotonic()
            self.sample_cpu()
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            return False
        return True


def kill_job(job_id: str, *, remember: bool = True) -> bool:
    """Stop the job's process and its children if it runs on this worker; whether it did.

    Meant for the ``fairshare_kill`` handler: it only signals, so it returns at once, and
    the ``run_job`` waiting on the job then reports ``cancelled``. A job that has not
    started yet here is remembered for a minute (unless ``remember`` is false), so that it
    is cancelled as soon as it starts.
    """
    with _lock:
        run = _running.get(job_id)
        if run is None:
            if remember:
                _early_kills[job_id] = time.monotonic()
            return False
    return run.kill(StopReason.CANCELLED)


def run_job(job_id: str, attempt: int, payload: bytes, limits: Limits, *, emit: Emit) -> Report:
    """Run one job attempt in its own process under ``limits``; its report when it ends.

    ``emit`` receives the output and progress messages (``{"type": "output", "stream",
    "text"}``, ``{"type": "progress", "done", "total"}``) from this thread, in order.
    """
    begun = time.monotonic()
    path = limits.get("payload_path")
    if path:  # a large payload on this host's disk: the job process maps it, nothing is copied here
        with open(path, "rb") as handle:
            size = wire.header_size(handle.read(8))
            handle.seek(0)
            payload = handle.read(size)
    versions = wire.header(payload).get("versions", {})
    mismatch = runtime_mismatch(versions)
    if mismatch is not None:
        refusal = wire.dumps(Outcome(ok=False, error_type="VersionMismatch", error_message=mismatch))
        return report(JobState.FAILED, None, mismatch, refusal, 0.0, time.monotonic() - begun, 0)

    batcher = EventBatcher(emit)
    # A job process may stay for the same account's next job, unless the job maps a
    # spool file (it would keep the mapping) or the pool did not say whose job it is.
    account_key = None if path else limits.get("account_key")
    notebook_key = limits.get("notebook_key")
    proc = processes.take(account_key, notebook_key)
    run = _Run(proc.pid)
    with _lock:
        _running[job_id] = run
        now = time.monotonic()
        for key in [k for k, t in _early_kills.items() if now - t > _EARLY_KILL_TTL]:
            del _early_kills[key]
        if _early_kills.pop(job_id, None) is not None:
            run.kill(StopReason.CANCELLED)
    meta = None
    try:
        started = time.monotonic()
        # A process killed before it took the job is reported by the watch like any other.
        job = {"job": job_id, "attempt": attempt, "limits": limits, "keep": account_key is not None}
        base = _resident(proc.pid)
        proc.send_job(job, b"" if path else payload)
        meta, blob, peak = _watch(proc, run, batcher, limits, started, base)
        wall = time.monotonic() - started
    finally:
        with _lock:
            _running.pop(job_id, None)
        if account_key is not None and run.stopped is None and meta is not None and meta["kept"]:
            processes.keep(account_key, proc, notebook_key)
        else:
            if run.stopped is None:
                # The job's process has exited; this reaps anything it left running.
                _killpg_quietly(run.pid)
            proc.close()
    batcher.close()

    if meta is None:
        return _unfinished(run, limits, wall, peak)
    peak = max(peak, int(meta["peak_memory"]))
    cpu = float(meta["cpu_seconds"])
    if meta["memory_error"] and limits.get("memory"):
        return report(JobState.FAILED, StopReason.MEMORY, stop_error(StopReason.MEMORY, limits), blob, cpu, wall, peak)
    if meta["ok"]:
        return report(JobState.DONE, None, None, blob, cpu, wall, peak)
    return report(JobState.FAILED, None, meta["error"], blob, cpu, wall, peak)


def _unfinished(run: _Run, limits: Limits, wall: float, peak: int) -> Report:
    """The report of a job whose process ended without sending its outcome."""
    cpu = run.cpu_seconds
    if run.stopped == StopReason.CANCELLED:
        return report(JobState.CANCELLED, StopReason.CANCELLED, "The job was cancelled.", None, cpu, wall, peak)
    if run.stopped is not None:
        return report(JobState.FAILED, run.stopped, stop_error(run.stopped, limits), None, cpu, wall, peak)
    error = ("The job's process ended without a result (it crashed or was killed outside fairshare); "
             "see its stderr output and run it again.")
    return report(JobState.FAILED, None, error, None, cpu, wall, peak)


def stop_error(reason: StopReason, limits: Limits) -> str:
    """The sentence for a job stopped by a limit; the max cost's names no amount (the pool knows it)."""
    if reason == StopReason.MEMORY:
        return (f"The job used more than its memory limit of {_size(limits.get('memory', 0))} and was stopped; "
                "ask for more memory (--memory) or use less.")
    if reason == StopReason.MAX_COST:
        return ("Max cost reached: the job was stopped at its cap and billed up to it; "
                "raise --max-cost to let it run longer.")
    return (f"The job ran past its time limit of {limits.get('wall_seconds', 0):g} s and was stopped; "
            "ask for more time or make it shorter.")


def _wall_reason(limits: Limits) -> StopReason:
    """Which limit the wall-clock bound is: the pool's time limit unless the pool said the cap."""
    return StopReason.MAX_COST if limits.get("wall_reason") == StopReason.MAX_COST else StopReason.TIME


def _watch(
    proc: processes.JobProcess, run: _Run, batcher: EventBatcher, limits: Limits, started: float, base: int = 0
) -> tuple[dict[str, Any] | None, bytes | None, int]:
    """Relay the job's output and progress until it reports or dies, enforcing its limits.

    The memory limit counts what the job adds to its process (``base`` is the process's
    resident memory before it took the job): a forked or kept process already holds the
    modules the pool preloads, which are the pool's, not the job's, and would otherwise use
    up a small --memory before the job allocated anything.
    """
    wall_limit = limits.get("wall_seconds")
    memory = limits.get("memory")
    streams = {proc.stdout_fd: "stdout", proc.stderr_fd: "stderr"}
    parser = frames.Parser()
    meta: dict[str, Any] | None = None
    blob: bytes | None = None
    peak = 0
    polls = 0
    next_poll = started + _POLL  # a job's first moments need no look: a short job is never sampled
    with selectors.DefaultSelector() as sel:
        for fd in (proc.stdout_fd, proc.stderr_fd, proc.msg_fd):
            sel.register(fd, selectors.EVENT_READ)
        msg_open = True
        while msg_open and meta is None:
            timeout = max(0.0, min(next_poll - time.monotonic(), batcher.due()))
            for key, _ in sel.select(timeout):
                data = os.read(key.fd, 1 << 20)
                if not data:
                    sel.unregister(key.fd)
                    msg_open = msg_open and key.fd != proc.msg_fd
                elif key.fd in streams:
                    batcher.output(streams[key.fd], data)
                else:
                    for kind, info, body in parser.feed(data):
                        if kind == frames.PROGRESS:
                            batcher.progress(int(info["done"]), int(info["total"]))
                        elif kind == frames.OUTCOME:
                            meta, blob = info, body
            batcher.tick()
            now = time.monotonic()
            if run.stopped is not None and now - run.stopped_at > _GIVE_UP:
                break  # killed, yet something outside its process group holds the pipe
            if meta is not None or run.stopped is not None or now < next_poll:
                continue
            next_poll = now + _POLL
            polls += 1
            run.sample_cpu()
            rss = run.rss(tree=polls % _TREE_EVERY == 0)
            peak = max(peak, rss)
            if wall_limit is not None and now - started > wall_limit:
                run.kill(_wall_reason(limits))
            elif memory and rss - base > memory:
                run.kill(StopReason.MEMORY)
        # A process that stays for another job keeps its output pipes open: what it printed
        # is already in them. One that exits closes them, but its children may still write.
        _drain(sel, streams, batcher, 0.0 if meta is not None and meta["kept"] else 0.5)
    return meta, blob, peak


def _resident(pid: int) -> int:
    """A process's resident bytes, from /proc (a few microseconds; 0 where it cannot be read)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            return int(handle.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


_PAGE = os.sysconf("SC_PAGE_SIZE")


def _drain(sel: selectors.BaseSelector, streams: dict[int, str], batcher: EventBatcher, wait: float) -> None:
    """Read the output still in the pipes, waiting up to ``wait`` seconds for more."""
    deadline = time.monotonic() + wait
    while any(fd in streams for fd in sel.get_map()):
        ready = sel.select(max(0.0, deadline - time.monotonic()))
        if not ready:
            return
        for key, _ in ready:
            if key.fd not in streams:
                sel.unregister(key.fd)
                continue
            data = os.read(key.fd, 1 << 20)
            if data:
                batcher.output(streams[key.fd], data)
            else:
                sel.unregister(key.fd)


def _killpg_quietly(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        return


def _size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:g} {unit}"
    return f"{n} bytes"


def report(
    state: JobState,
    reason: StopReason | None,
    error: str | None,
    result: bytes | None,
    cpu: float,
    wall: float,
    peak: int,
) -> Report:
    """The one place a worker's report is built: plain strings, so it crosses msgpack as is."""
    return Report(
        state=state.value,
        reason=None if reason is None else reason.value,
        error=error,
        result=result,
        cpu_seconds=cpu,
        wall_seconds=wall,
        peak_memory=peak,
    )
