"""The embedded pool: started on demand on loopback, shared by every kernel of a user.

The first caller starts ``fairshare pool serve`` as a detached process and waits for it to
write its state file (URL, token, pid; readable only by the user). Later callers, in any
process, find the state file, check the pool answers, and reuse it, so there is one
embedded pool per data directory, not one per kernel.

This is a launcher, not pool code: it starts the pool as a process and speaks to it only
through :mod:`jupyter_fairshare.client`, so a kernel or a Jupyter server that uses it loads
none of the pool's modules.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import platformdirs

from .client import Client, errors

__all__ = ["default_data_dir", "ensure_running", "healthy", "launch", "running", "state_path", "stop"]

STATE = "embedded.json"
DATA_DIR_ENV = "FAIRSHARE_DATA_DIR"


def default_data_dir() -> Path:
    """``FAIRSHARE_DATA_DIR``, else the user's data directory: the pool's own default
    (``pool.config.default_data_dir``), so both find the same store and state file."""
    return Path(os.environ.get(DATA_DIR_ENV) or platformdirs.user_data_dir("fairshare"))


def state_path(data_dir: Path | None = None) -> Path:
    """Where the embedded pool of ``data_dir`` writes its URL, token and pid."""
    return (data_dir or default_data_dir()) / STATE


def healthy(url: str) -> bool:
    """Whether a pool answers its health route at ``url``."""
    try:
        with Client(url) as client:
            client.health()
    except errors.FairshareError:
        return False
    return True


def running(data_dir: Path | None = None) -> tuple[str, str] | None:
    """(url, token) of a live embedded pool, or None."""
    state = _read(state_path(data_dir))
    url, token = state.get("url"), state.get("token")
    if not isinstance(url, str) or not isinstance(token, str):
        return None
    return (url, token) if healthy(url) else None


def _read(state_file: Path) -> dict[str, Any]:
    """The state file's fields, or ``{}`` while it is missing, half-written or not ours."""
    try:
        state = json.loads(state_file.read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def launch(data_dir: Path, state_file: Path, options: list[str], log: Path, timeout: float = 90.0,
           port: int = 0) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    """Start ``fairshare pool serve OPTIONS`` detached (its own session, so its Dask workers
    go with it) and wait until it has written ``state_file`` and answers.

    The state file of an earlier run is left in place: a pool restarted on an existing store
    creates no new account and takes the token it hands out from there.
    """
    command = [sys.executable, "-m", "jupyter_fairshare.cli", "pool", "serve", "--port", str(port),
               "--data-dir", str(data_dir), "--state-file", str(state_file), *options]
    with open(log, "ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"The pool stopped at start-up; see {log} for why.")
        state = _read(state_file)
        if state.get("pid") == process.pid and isinstance(state.get("url"), str) and healthy(state["url"]):
            return process, state
        time.sleep(0.1)
    os.killpg(process.pid, 9)
    raise RuntimeError(f"The pool did not answer within {timeout:.0f} s; see {log} for why.")


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
        _, state = launch(data_dir, state_path(data_dir), ["--workers", str(workers)] if workers else [],
                          data_dir / "embedded.log", timeout)
        return state["url"], state["token"]


def stop(data_dir: Path | None = None) -> bool:
    """Stop the embedded pool of ``data_dir`` if one runs; True if one was stopped."""
    try:
        pid = json.loads(state_path(data_dir).read_text())["pid"]
        os.kill(pid, 15)
    except (OSError, ValueError, KeyError):
        return False
    return True
