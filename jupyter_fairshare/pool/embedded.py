"""The embedded pool: started on demand on loopback, shared by every kernel of a user.

The first caller starts ``fairshare pool serve`` as a detached process and waits for it to
write its state file (URL, token, pid; readable only by the user). Later callers, in any
process, find the state file, check the pool answers, and reuse it, so there is one
embedded pool per data directory, not one per kernel.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from .config import default_data_dir

STATE = "embedded.json"


def state_path(data_dir: Path | None = None) -> Path:
    return (data_dir or default_data_dir()) / STATE


def running(data_dir: Path | None = None) -> tuple[str, str] | None:
    """(url, token) of a live embedded pool, or None."""
    try:
        state = json.loads(state_path(data_dir).read_text())
        httpx.get(state["url"] + "/api/v1/health", timeout=2).raise_for_status()
    except (OSError, ValueError, KeyError, httpx.HTTPError):
        return None
    return state["url"], state["token"]


def ensure_running(data_dir: Path | None = None, timeout: float = 90.0, workers: int | None = None) -> tuple[str, str]:
    """(url, token) of the embedded pool, starting it in the background if none answers."""
    data_dir = data_dir or default_data_dir()
    found = running(data_dir)
    if found:
        return found
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / "embedded.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = running(data_dir)
        if found:
            return found
        state = state_path(data_dir)
        state.unlink(missing_ok=True)
        command = [sys.executable, "-m", "jupyter_fairshare.cli", "pool", "serve", "--port", "0",
                   "--data-dir", str(data_dir), "--state-file", str(state)]
        if workers:
            command += ["--workers", str(workers)]
        log = open(data_dir / "embedded.log", "ab")
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"The embedded pool stopped at start-up; see {data_dir / 'embedded.log'}.")
            found = running(data_dir)
            if found:
                return found
            time.sleep(0.2)
        process.terminate()
        raise RuntimeError(f"The embedded pool did not answer within {timeout:.0f} s; see {data_dir / 'embedded.log'}.")


def stop(data_dir: Path | None = None) -> bool:
    """Stop the embedded pool of ``data_dir`` if one runs; True if one was stopped."""
    try:
        pid = json.loads(state_path(data_dir).read_text())["pid"]
        os.kill(pid, 15)
    except (OSError, ValueError, KeyError):
        return False
    return True
