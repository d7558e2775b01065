"""Empty-job round trip, submit to result, against raw Dask on a LocalCluster of the same shape.

Ours: ``POST /api/v1/jobs?wait=30`` (one request that submits and waits) then
``GET /api/v1/jobs/{id}/result`` on one persistent httpx connection, and the result blob
unpacked with ``wire.loads``; the job is ``lambda: None``. The pool runs 2 workers.
Peer: ``client.submit(lambda: None, pure=False).result()`` on
``LocalCluster(n_workers=2, threads_per_worker=1, processes=True)`` in this process.
"""

from __future__ import annotations

import json
import sys
import time

from _common import percentile, pool, row


def ours(url: str, token: str, n: int) -> list[float]:
    import httpx

    from jupyter_fairshare import wire

    spec = json.dumps({"kind": "call", "name": "empty", "cpus": 1, "memory": "100MB", "max_cost": 0.01})
    times = []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        for i in range(n + 10):  # the first 10 warm the connection and the worker processes
            t = time.perf_counter()
            body = wire.dumps(wire.CallTask(lambda: None))
            job = client.post("/api/v1/jobs", params={"wait": 30}, content=body, headers={"Fairshare-Job": spec})
            job.raise_for_status()
            job = job.json()
            if job["state"] != "done":
                raise RuntimeError(f"empty job ended {job['state']} ({job.get('error')}) within 30 s")
            blob = client.get(f"/api/v1/jobs/{job['id']}/result")
            blob.raise_for_status()
            outcome = wire.loads(blob.content)
            if not outcome.ok or outcome.value is not None:
                raise RuntimeError(f"unexpected outcome {outcome}")
            if i >= 10:
                times.append(time.perf_counter() - t)
    return times


def via_api(url: str, token: str, n: int) -> list[float]:
    """The same through the Python API (``Pool.submit_task(..., wait=30).result()``)."""
    from jupyter_fairshare import wire
    from jupyter_fairshare.notebook.api import Pool

    times = []
    with Pool(url, token) as p:
        for i in range(n + 10):
            t = time.perf_counter()
            value = p.submit_task(wire.CallTask(lambda: None), name="empty", memory="100MB", max_cost=0.01,
                                  wait=30).result()
            assert value is None
            if i >= 10:
                times.append(time.perf_counter() - t)
    return times


def dask(n: int) -> list[float]:
    from distributed import Client, LocalCluster

    times = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        for i in range(n + 10):
            t = time.perf_counter()
            value = client.submit(lambda: None, pure=False).result()
            assert value is None
            if i >= 10:
                times.append(time.perf_counter() - t)
    return times


def run(quick: bool) -> list[dict]:
    n = 100 if quick else 200
    api_times = None
    with pool(workers=2) as p:
        token = p.add_account("roundtrip", "standard", credits=1e6)
        mine = ours(p.url, token, n)
        try:
            api_times = via_api(p.url, token, n // 2)
        except Exception as exc:  # the Python API is informational here; the HTTP figure is the goal
            print(f"roundtrip via the Python API failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    peer = dask(n)
    ms = lambda xs, q: percentile(xs, q) * 1000  # noqa: E731
    p50, p95, d50, d95 = ms(mine, 50), ms(mine, 95), ms(peer, 50), ms(peer, 95)
    rows = [
        row("empty-job round trip p50 (HTTP submit+wait, result)", p50, d50, "ms",
            "Dask client.submit().result()", "p50 <= 2x Dask", p50 <= 2 * d50, higher_is_better=False,
            note=f"{n} sequential jobs after 10 warm-up, pool with 2 workers vs LocalCluster(2 workers, 1 thread, processes)"),
        row("empty-job round trip p95", p95, d95, "ms", "Dask", "(reported)", None, higher_is_better=False),
    ]
    if api_times:
        a50 = ms(api_times, 50)
        rows.append(row("empty-job round trip p50 via Python API (Pool.submit_task(wait=30).result())", a50, d50,
                        "ms", "Dask", "(reported)", None, higher_is_better=False,
                        note=f"{len(api_times)} jobs; p95 {ms(api_times, 95):.2f} ms"))
    return rows


if __name__ == "__main__":
    for r in run("--quick" in sys.argv):
        print(r)
