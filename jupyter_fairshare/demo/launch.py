"""Starting and stopping the demo pool: its process, its accounts and its simulated load.

The demo is a real pool (``fairshare pool serve`` with the settings in ``demo.toml``) in a
data directory of its own, so nothing it does touches a user's own pool. Everything is
driven through the same public surfaces a user or an operator has: the command line starts
the pool, the admin HTTP API creates the accounts, and the load generator submits its jobs
over the jobs API. A demo that is not running starts fresh: a new store, new accounts and
new tokens, so a Binder session or a test never inherits an old queue.

``demo.json`` in the data directory (readable only by its owner) holds what a later call
needs to find the running demo: the URL, the newcomer's token, the simulated accounts'
tokens and the process ids.
"""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ..client import Client, errors
from ..embedded import default_data_dir, launch

STATE = "demo.json"
POOL_STATE = "pool.json"
CONFIG = "demo.toml"
DIR_ENV = "FAIRSHARE_DEMO_DIR"


@dataclass(frozen=True)
class DemoAccount:
    """An account of the demo; ``depth`` is how many queued jobs the load generator keeps it at."""

    name: str
    tier: str
    shares: float
    credits: float
    depth: int = 0


#: The person trying the demo: a newcomer, so the reserve works for them.
USER = DemoAccount("newcomer", "newcomer", shares=1.0, credits=20.0)

#: Simulated research groups in the standard tier with different shares; together they keep
#: both single-CPU sites busy and a queue of a few jobs waiting.
SIMULATED = (
    DemoAccount("astro-lab", "standard", shares=4.0, credits=500.0, depth=3),
    DemoAccount("bio-lab", "standard", shares=2.0, credits=500.0, depth=2),
    DemoAccount("civic-maps", "standard", shares=1.0, credits=500.0, depth=2),
)


def demo_dir(data_dir: Path | None = None) -> Path:
    """``data_dir``, else ``FAIRSHARE_DEMO_DIR``, else ``demo/`` in the fairshare data directory."""
    if data_dir is not None:
        return Path(data_dir)
    return Path(os.environ.get(DIR_ENV) or default_data_dir() / "demo")


def read_state(data_dir: Path) -> dict[str, Any]:
    """The demo's state file, or ``{}`` when there is none (or it is unreadable)."""
    try:
        state = json.loads((data_dir / STATE).read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def running(data_dir: Path | None = None) -> tuple[str, str] | None:
    """(url, newcomer token) of a live demo in ``data_dir``, or None."""
    state = read_state(demo_dir(data_dir))
    url, token = state.get("url"), state.get("token")
    if not isinstance(url, str) or not isinstance(token, str):
        return None
    try:
        with Client(url, token) as client:
            client.account()
    except errors.FairshareError:
        return None
    return url, token


def ensure_demo(data_dir: Path | None = None, minutes: float = 30.0, port: int = 0,
                timeout: float = 120.0) -> tuple[str, str]:
    """(url, token) of the demo pool for the newcomer, starting it with its load if none runs.

    The load generator runs for ``minutes`` and stops early when the pool goes away; a call
    that finds the pool up but its load generator gone starts a new one, so running this
    again gives a busy pool again.
    """
    data_dir = demo_dir(data_dir)
    found = running(data_dir)
    if found and _alive(read_state(data_dir).get("load_pid")):
        return found
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / "demo.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = running(data_dir)
        if found:
            state = read_state(data_dir)
            if not _alive(state.get("load_pid")):
                state["load_pid"] = _start_load(data_dir, minutes)
                _write_state(data_dir, state)
            return found
        stop_demo(data_dir)
        state = _start_pool(data_dir, port, timeout)
        state["tokens"] = _create_accounts(state["url"], state.pop("admin_token"))
        state["token"] = state["tokens"].pop(USER.name)
        _write_state(data_dir, state)
        state["load_pid"] = _start_load(data_dir, minutes)
        _write_state(data_dir, state)
        return state["url"], state["token"]


def stop_demo(data_dir: Path | None = None) -> bool:
    """Stop the demo's load generator and pool (with its workers); True if anything was stopped."""
    data_dir = demo_dir(data_dir)
    state = read_state(data_dir)
    stopped = False
    if _ours(state.get("load_pid")):
        os.kill(state["load_pid"], signal.SIGTERM)
        stopped = True
    pool_pid = state.get("pool_pid")
    if isinstance(pool_pid, int) and _ours(pool_pid):
        # The pool runs in its own session; its Dask workers are in its process group.
        os.killpg(pool_pid, signal.SIGTERM)
        _wait_gone(pool_pid, 30.0)
        if _alive(pool_pid):
            os.killpg(pool_pid, signal.SIGKILL)
        stopped = True
    (data_dir / STATE).unlink(missing_ok=True)
    return stopped


def export_lines(url: str, token: str) -> str:
    """Shell lines that point ``fairshare``, the magics and the Python API at the demo."""
    return f"export FAIRSHARE_URL={shlex.quote(url)}\nexport FAIRSHARE_TOKEN={shlex.quote(token)}\n"


# -- the pool process ----------------------------------------------------------------------

def _start_pool(data_dir: Path, port: int, timeout: float) -> dict[str, Any]:
    """A fresh store and a ``fairshare pool serve`` process; returns its URL, admin token and pid."""
    for name in ("pool.db", "pool.db-wal", "pool.db-shm", POOL_STATE):
        (data_dir / name).unlink(missing_ok=True)
    config = data_dir / CONFIG
    with resources.as_file(resources.files(__package__) / CONFIG) as packaged:
        shutil.copyfile(packaged, config)
    process, info = launch(data_dir, data_dir / POOL_STATE,
                           ["--config", str(config), "--db", f"sqlite:///{data_dir / 'pool.db'}", "--no-demo"],
                           data_dir / "pool.log", timeout, port)
    return {"url": info["url"], "admin_token": info["token"], "pool_pid": process.pid}


def _create_accounts(url: str, admin_token: str) -> dict[str, str]:
    """Create the newcomer and the simulated accounts through the admin API; their tokens by name."""
    tokens = {}
    with Client(url, admin_token) as client:
        for account in (USER, *SIMULATED):
            created = client.add_account(account.name, account.tier, account.shares, account.credits)
            tokens[account.name] = created["token"]
    return tokens


def _start_load(data_dir: Path, minutes: float) -> int:
    command = [sys.executable, "-m", "jupyter_fairshare.demo.load", "--data-dir", str(data_dir),
               "--minutes", str(minutes)]
    with open(data_dir / "load.log", "ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    return process.pid


def _write_state(data_dir: Path, state: dict[str, Any]) -> None:
    """Write the state file atomically and readable by its owner only: it holds tokens."""
    tmp = data_dir / (STATE + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(state, handle)
    os.replace(tmp, data_dir / STATE)


# -- processes -----------------------------------------------------------------------------

def _alive(pid: object) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _ours(pid: object) -> bool:
    """True for a live process of the demo: a pid in an old state file may since be another program's."""
    if not _alive(pid):
        return False
    try:
        return b"jupyter_fairshare" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _wait_gone(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
