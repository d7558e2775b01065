"""Durable submissions per second on one pool process, against a raw SQLite commit loop and
an ASGI hello-world served the same way, driven by the same load generator.

The pool runs with one worker (``workers=1``) and every job is ``int()`` (returns at once,
``max_cost`` 0.01), so the queue drains into the worker as it would in use while leaving as
much of the 2-core machine as possible to the HTTP path. Only 201 responses are counted.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import free_port, load, pool, row, stop, wait_http

HERE = Path(__file__).resolve().parent
PROCESSES = 1      # load-generator processes (the machine has 2 cores; the server needs one)
CONCURRENCY = 64   # concurrent requests per process


def payload() -> tuple[bytes, dict]:
    from jupyter_fairshare import wire

    body = wire.dumps(wire.CallTask(int, ()))
    spec = {"kind": "call", "name": "tiny", "cpus": 1, "memory": "100MB", "max_cost": 0.01}
    return body, spec


def sqlite_loop(directory: Path, seconds: float, size: int) -> dict:
    """One INSERT + COMMIT per row in WAL mode with synchronous=NORMAL, for ``seconds``."""
    path = directory / "raw.db"
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("CREATE TABLE jobs (id TEXT PRIMARY KEY, submitted_at REAL, state TEXT, payload BLOB)")
        blob = os.urandom(size)
        n = 0
        start = time.perf_counter()
        end = start + seconds
        while time.perf_counter() < end:
            connection.execute("BEGIN")
            connection.execute("INSERT INTO jobs VALUES (?, ?, ?, ?)", (os.urandom(16).hex(), time.time(), "queued", blob))
            connection.execute("COMMIT")
            n += 1
        elapsed = time.perf_counter() - start
    finally:
        connection.close()
    return {"per_second": n / elapsed, "rows": n}


def hello_world(body: bytes, seconds: float) -> dict:
    port = free_port()
    process = subprocess.Popen([sys.executable, str(HERE / "_hello_app.py"), str(port)], start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/api/v1/health")
        return load(url, "/api/v1/jobs", {"Fairshare-Job": "{}"}, body, PROCESSES, CONCURRENCY, seconds)
    finally:
        stop(process)


def run(quick: bool) -> list[dict]:
    seconds = 2.0 if quick else 5.0
    body, spec = payload()
    with pool(workers=1) as p:
        token = p.add_account("submitter", "standard", credits=1e9)
        headers = {"Authorization": f"Bearer {token}", "Fairshare-Job": json.dumps(spec)}
        ours = load(p.url, "/api/v1/jobs", headers, body, PROCESSES, CONCURRENCY, seconds)
        with tempfile.TemporaryDirectory(dir=p.data_dir) as tmp:  # same disk as the pool's store
            raw = sqlite_loop(Path(tmp), seconds, len(body))
    hello = hello_world(body, seconds)
    note = (f"{PROCESSES} load process x {CONCURRENCY} keep-alive connections (raw asyncio HTTP/1.1), {seconds:.0f} s; pool with 1 worker, "
            f"job = int() ({len(body)} B payload); non-201: {ours['other']} {ours['statuses']}, errors {ours['errors']}")
    return [
        row("durable submissions/s (vs raw SQLite commit loop)", ours["per_second"], raw["per_second"], "/s",
            "SQLite INSERT+COMMIT, WAL, sync=NORMAL", ">= 1,000/s", ours["per_second"] >= 1000, note=note),
        row("durable submissions/s (vs ASGI hello-world)", ours["per_second"], hello["per_second"], "/s",
            "FastAPI hello-world on uvicorn, same load", ">= 1,000/s", ours["per_second"] >= 1000,
            note=f"hello-world non-201: {hello['other']}, errors {hello['errors']}"),
    ]


if __name__ == "__main__":
    for r in run("--quick" in sys.argv):
        print(r)
