"""Helpers the benchmark parts share: a pool process, load generation, percentiles, rows."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.conftest import start_pool  # noqa: E402  (a real `fairshare pool serve` subprocess)


def row(benchmark: str, ours: float | None, peer: float | None, unit: str, peer_name: str,
        goal: str, met: bool | None, higher_is_better: bool = True, note: str = "", ratio: float | None = None) -> dict:
    """One line of the results table; ``ratio`` is ours/peer unless given."""
    if ratio is None and ours is not None and peer:
        ratio = ours / peer
    return {"benchmark": benchmark, "ours": ours, "peer": peer, "unit": unit, "peer_name": peer_name,
            "ratio": ratio, "goal": goal, "met": met, "higher_is_better": higher_is_better, "note": note}


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100), nearest-rank on the sorted values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def median(values: list[float]) -> float:
    return statistics.median(values)


@contextmanager
def pool(workers: int = 2, config_text: str | None = None):
    """A pool subprocess in a temporary directory, killed (with its workers) on exit."""
    with tempfile.TemporaryDirectory(prefix="fs-bench-", dir=os.environ.get("FAIRSHARE_BENCH_DIR")) as tmp:
        config = None
        if config_text is not None:
            config = Path(tmp) / "pool.toml"
            config.write_text(config_text)
        p = start_pool(Path(tmp) / "pool", workers=workers, config=config)
        try:
            yield p
        finally:
            p.kill(signal.SIGTERM) if p.process.poll() is None else None
            if p.process.poll() is None:
                p.kill()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 30.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def stop(process: subprocess.Popen) -> None:
    """Stop a subprocess we started in its own session, and its children."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(timeout=10)


async def _load(url: str, path: str, headers: dict, body: bytes, concurrency: int, seconds: float,
                warmup: float) -> dict:
    """``concurrency`` keep-alive connections, each one POST in flight at a time; counts the
    responses that complete inside the timed window, by status.

    The client is a minimal HTTP/1.1 writer/reader on asyncio streams rather than httpx: on
    this 2-core machine httpx costs the load generator more CPU per request than a small
    ASGI server spends answering it, so it would measure itself, not the server.
    """
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host, port = parts.hostname, parts.port
    head = f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/octet-stream\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    counts = {"ok": 0, "other": 0, "errors": 0}
    statuses: dict[int, int] = {}
    start = time.perf_counter()
    begin, end = start + warmup, start + warmup + seconds

    async def loop() -> None:
        reader = writer = None
        while time.perf_counter() < end:
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                writer.write(request)
                header = await reader.readuntil(b"\r\n\r\n")
                status = int(header[9:12])
                length = 0
                for line in header.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                    elif name.strip().lower() == b"transfer-encoding":
                        raise RuntimeError("chunked responses are not supported by this load generator")
                if length:
                    await reader.readexactly(length)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                if time.perf_counter() >= begin:
                    counts["errors"] += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
                continue
            done = time.perf_counter()
            if begin <= done <= end:
                statuses[status] = statuses.get(status, 0) + 1
                counts["ok" if status == 201 else "other"] += 1
        if writer is not None:
            writer.close()

    await asyncio.gather(*(loop() for _ in range(concurrency)))
    return {**counts, "statuses": statuses}


def _load_process(args: tuple) -> dict:
    try:
        import uvloop  # noqa: F401

        return uvloop.run(_load(*args))
    except ImportError:
        return asyncio.run(_load(*args))


def load(url: str, path: str, headers: dict, body: bytes, processes: int, concurrency: int, seconds: float,
         warmup: float = 1.0) -> dict:
    """Drive POSTs from ``processes`` processes x ``concurrency`` connections; 201s per second."""
    import multiprocessing

    args = (url, path, headers, body, concurrency, seconds, warmup)
    if processes == 1:
        parts = [_load_process(args)]
    else:
        with multiprocessing.get_context("spawn").Pool(processes) as mp:
            parts = mp.map(_load_process, [args] * processes)
    ok = sum(p["ok"] for p in parts)
    statuses: dict = {}
    for p in parts:
        for k, v in p["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
    return {"per_second": ok / seconds, "ok": ok, "other": sum(p["other"] for p in parts),
            "errors": sum(p["errors"] for p in parts), "statuses": statuses}


def jsonable(obj):
    return json.loads(json.dumps(obj, default=str))
