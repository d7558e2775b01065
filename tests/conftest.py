"""Shared fixtures: a real pool process on loopback with a real LocalCluster behind it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from jupyter_fairshare.embedded import launch

# FAIRSHARE_TEST_PG lets parallel runs on one machine use databases of their own.
PG_URL = os.environ.get("FAIRSHARE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


@dataclass
class PoolProcess:
    """A `fairshare pool serve` subprocess; tests talk to it only over HTTP."""

    url: str
    admin_token: str
    process: subprocess.Popen
    data_dir: Path
    db: str
    log: Path
    tokens: dict = field(default_factory=dict)

    def add_account(self, name: str, tier: str = "standard", credits: float = 100.0, shares: float = 1.0) -> str:
        response = httpx.post(f"{self.url}/api/v1/admin/accounts", json={"name": name, "tier": tier,
                              "credits": credits, "shares": shares},
                              headers={"Authorization": f"Bearer {self.admin_token}"}, timeout=30)
        response.raise_for_status()
        self.tokens[name] = response.json()["token"]
        return self.tokens[name]

    def client(self, token: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=60)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Kill the pool process and the worker processes it started."""
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=30)


def start_pool(data_dir: Path, db: str | None = None, workers: int = 2, config: Path | None = None,
               timeout: float = 90.0) -> PoolProcess:
    """Start a pool process and wait until it answers."""
    data_dir.mkdir(parents=True, exist_ok=True)
    state = data_dir / "state.json"
    state.unlink(missing_ok=True)  # a test's pool starts on a store of its own choosing
    db = db or f"sqlite:///{data_dir / 'pool.db'}"
    options = ["--db", db, "--no-demo", *(["--config", str(config)] if config else ["--workers", str(workers)])]
    log = data_dir / "pool.log"
    try:
        process, info = launch(data_dir, state, options, log, timeout)
    except RuntimeError as exc:
        raise RuntimeError(f"{exc}\n{log.read_text()[-3000:]}") from None
    return PoolProcess(info["url"], info["token"], process, data_dir, db, log)


def postgres_url() -> str:
    """The test PostgreSQL URL; skip (or fail under CI=true) when the server is absent."""
    import sqlalchemy

    try:
        engine = sqlalchemy.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://"))
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI=true but {PG_URL} is unreachable: {exc}")
        pytest.skip(f"PostgreSQL is not running on 127.0.0.1:5432 ({type(exc).__name__}); start it to run this test.")
    return PG_URL


def reset_postgres(url: str) -> None:
    import sqlalchemy

    engine = sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA public CASCADE")
        connection.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    """A fresh, empty store on each database the pool supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'pool.db'}"
    url = postgres_url()
    reset_postgres(url)
    return url


@pytest.fixture(scope="session")
def pool_server(tmp_path_factory) -> PoolProcess:
    """One pool for the session (2 local workers); each test makes its own account."""
    pool = start_pool(tmp_path_factory.mktemp("pool"))
    yield pool
    pool.kill(signal.SIGTERM)


@pytest.fixture
def account(pool_server, request) -> httpx.Client:
    """A fresh standard account on the session pool, as an authenticated HTTP client."""
    name = f"{request.node.name[:60]}-{time.monotonic_ns()}"
    with pool_server.client(pool_server.add_account(name)) as client:
        yield client


def submit(client: httpx.Client, fn, *args, wait: float = 0.0, **spec) -> httpx.Response:
    """Submit ``fn(*args)`` as a call job over HTTP, as any client of the API would."""
    from jupyter_fairshare import wire

    spec.setdefault("kind", "call")
    return client.post("/api/v1/jobs", params={"wait": wait}, content=wire.dumps(wire.CallTask(fn, args)),
                       headers={"Fairshare-Job": json.dumps(spec)})


def wait_for(client: httpx.Client, job_id: str, states=("done", "failed", "cancelled"), timeout: float = 60) -> dict:
    """Poll a job until it is in one of ``states``."""
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/api/v1/jobs/{job_id}", params={"wait": 1}).json()
        if job["state"] in states:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job['state']} after {timeout} s")
        time.sleep(0.05)


def eventually(check, timeout: float = 5.0) -> bool:
    """Whether ``check()`` becomes true within ``timeout`` seconds, for what the pool does
    in the background after it has answered (removing a finished job's spool file)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
