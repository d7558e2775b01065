"""Fairness under contention: a newcomer's 20 jobs behind another account's 2,000.

Account A queues N jobs of ``time.sleep(0.05)`` (N = 2,000; 400 with --quick), then account
B submits 20 of the same. We time, from B's first submission, B's first result and the
completion of all 20, on the pool (2 workers, fair-share order) and on Dask's own order
(``client.submit`` of A's N then B's 20 on ``LocalCluster(2 workers, 1 thread, processes)``).
Both A and B are ``standard`` accounts with equal shares, so only fair share separates them.
The goal for B's first result is one job (50 ms) plus two empty-job round trips, measured
on the same pool just before (median of 10).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from _common import median, pool, row

JOB_SECONDS = 0.05
B_JOBS = 20


def _spec(name: str) -> str:
    return json.dumps({"kind": "call", "name": name, "cpus": 1, "memory": "100MB", "max_cost": 0.05})


async def _submit_many(url: str, token: str, body: bytes, spec: str, n: int, concurrency: int) -> list[str]:
    import httpx

    ids: list[str] = []
    left = iter(range(n))

    async def loop() -> None:
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}", "Fairshare-Job": spec},
                                     timeout=60) as client:
            for _ in left:
                response = await client.post("/api/v1/jobs", content=body)
                response.raise_for_status()
                ids.append(response.json()["id"])

    await asyncio.gather(*(loop() for _ in range(concurrency)))
    return ids


def _b_run(url: str, token: str) -> tuple[float, float, list[float]]:
    """B as a notebook user is B: the Python API (one client, persistent connections)
    submits 20 jobs one after another, each followed to its result from the moment it is
    accepted; times are from B's first submission."""
    from concurrent.futures import ThreadPoolExecutor

    import jupyter_fairshare as fs

    pool = fs.connect(url, token)
    try:
        def follow(job) -> float:
            job.result(timeout=120)
            return time.perf_counter() - t0

        with ThreadPoolExecutor(B_JOBS) as threads:
            t0 = time.perf_counter()
            followers = [threads.submit(follow, pool.submit(time.sleep, JOB_SECONDS, memory="100MB", max_cost=0.05,
                                                            name="b")) for _ in range(B_JOBS)]
            ends = [f.result() for f in followers]
    finally:
        pool.close()
    return min(ends), max(ends), sorted(ends)


def ours(n_a: int) -> dict:
    import httpx

    from jupyter_fairshare import wire

    sleep_body = wire.dumps(wire.CallTask(time.sleep, (JOB_SECONDS,)))
    empty_body = wire.dumps(wire.CallTask(int, ()))
    with pool(workers=2) as p:
        token_a = p.add_account("A", "standard", credits=1e6)
        token_b = p.add_account("B", "standard", credits=1e6)
        token_c = p.add_account("C-probe", "standard", credits=1e6)
        rts = []
        with p.client(token_c) as client:
            for i in range(15):
                t = time.perf_counter()
                job = client.post("/api/v1/jobs", params={"wait": 30}, content=empty_body,
                                  headers={"Fairshare-Job": _spec("probe")}).json()
                client.get(f"/api/v1/jobs/{job['id']}/result").raise_for_status()
                if i >= 5:
                    rts.append(time.perf_counter() - t)
        t = time.perf_counter()
        asyncio.run(_submit_many(p.url, token_a, sleep_body, _spec("a"), n_a, 16))
        submit_a = time.perf_counter() - t
        first, last, _ = _b_run(p.url, token_b)
        with p.client(token_a) as client:
            a_done = len(client.get("/api/v1/jobs", params={"state": "done", "limit": 10000}).json()["jobs"])
        with httpx.Client(base_url=p.url) as client:
            queued = len(client.get("/api/v1/public/queue").json()["queue"])
    return {"first": first, "last": last, "rt": median(rts), "submit_a": submit_a, "a_done": a_done, "queued": queued}


def dask(n_a: int) -> dict:
    from distributed import Client, LocalCluster, wait

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        client.submit(time.sleep, 0, pure=False).result()  # warm
        a = [client.submit(time.sleep, JOB_SECONDS, pure=False) for _ in range(n_a)]
        t0 = time.perf_counter()
        b = [client.submit(time.sleep, JOB_SECONDS, pure=False) for _ in range(B_JOBS)]
        ends = []
        from distributed import as_completed

        for _ in as_completed(b):
            ends.append(time.perf_counter() - t0)
        a_done = sum(f.done() for f in a)
        client.cancel(a)
        wait(b)
    return {"first": min(ends), "last": max(ends), "a_done": a_done}


def run(quick: bool) -> list[dict]:
    n_a = 400 if quick else 2000
    mine = ours(n_a)
    peer = dask(n_a)
    print(f"fairness: ours {mine}, dask {peer}", file=sys.stderr)
    first_goal = JOB_SECONDS + 2 * mine["rt"]
    note = (f"A = {n_a} x sleep(0.05) (submitted in {mine['submit_a']:.1f} s by 16 connections), B = {B_JOBS}; "
            f"A's jobs done when B finished: ours {mine['a_done']}, Dask {peer['a_done']}; "
            f"empty round trip on this pool {mine['rt'] * 1000:.1f} ms")
    return [
        row("fairness: B's first result after A's backlog", mine["first"] * 1000, peer["first"] * 1000, "ms",
            "Dask FIFO", f"<= 50 ms + 2 round trips = {first_goal * 1000:.0f} ms", mine["first"] <= first_goal,
            higher_is_better=False, note=note),
        row("fairness: B's 20 jobs all done", mine["last"], peer["last"], "s", "Dask FIFO",
            ">= 10x sooner than Dask", peer["last"] >= 10 * mine["last"], higher_is_better=False),
    ]


if __name__ == "__main__":
    for r in run("--quick" in sys.argv):
        print(r)
