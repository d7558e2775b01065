"""The worker's ``fairshare_run`` and ``fairshare_kill`` handlers on a real Dask LocalCluster.

The calls are made on a raw connection, as the pool's dispatcher makes them, so these tests pin
the messages themselves: live output and progress first, in order, then the report last.
"""

from __future__ import annotations

import asyncio
import time

import pytest
import pytest_asyncio
from distributed import Client, LocalCluster

from jupyter_fairshare import wire
from jupyter_fairshare.execution.worker import ERROR, HANDLER, REPORT, DirectRuns, framed, warm_up
from jupyter_fairshare.wire import CallTask, CellTask, GraphTask

pytestmark = pytest.mark.asyncio(loop_scope="module")
LIMITS = {"cpus": 1.0, "memory": 2 * 2**30, "wall_seconds": 30.0}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster():
    async with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0",
                            asynchronous=True) as cluster:
        async with Client(cluster, asynchronous=True) as client:
            await client.register_plugin(DirectRuns())
            await client.run(warm_up)
            yield client, next(iter((await client.scheduler.identity())["workers"]))


async def call(client, addr, job_id, payload, limits=LIMITS, on_message=None):
    """Every message of one ``fairshare_run`` call with the time it arrived, the last one last."""
    comm = await client.rpc.connect(addr)
    try:
        await comm.write({"op": HANDLER, "reply": True, "job_id": job_id, "attempt": 1,
                          "payload": framed(payload), "limits": limits})
        messages = []
        while not messages or messages[-1][1]["type"] not in (REPORT, ERROR):
            message = await comm.read()
            messages.append((time.monotonic(), message))
            if on_message is not None:
                on_message(messages[-1][1])
    finally:
        comm.abort()
    return messages


async def test_call_cell_and_graph_run_on_the_worker_and_end_with_a_report_message(cluster):
    from operator import mul

    client, addr = cluster
    tasks = [CallTask(divmod, (17, 5)), CellTask("y = x * 2\ny + 1", inputs={"x": 20}, outputs=["y"]),
             GraphTask({"a": 3, "b": (mul, "a", "a")}, "b")]
    answers = await asyncio.gather(*(call(client, addr, f"c{i}", wire.dumps(t)) for i, t in enumerate(tasks)))
    reports = [messages[-1][1] for messages in answers]
    assert [len(messages) for messages in answers[:2]] == [1, 1]  # no output: the report alone
    assert [(r["type"], r["state"]) for r in reports] == [(REPORT, "done")] * 3
    assert wire.loads(reports[0]["result"]).value == (3, 2)
    outcome = wire.loads(reports[1]["result"])
    assert (outcome.value, outcome.outputs) == (41, {"y": 40})
    assert wire.loads(reports[2]["result"]).value == 9


async def test_output_arrives_on_the_call_while_the_job_still_sleeps_and_the_report_comes_last(cluster):
    client, addr = cluster
    source = "print('working', flush=True)\nimport time\ntime.sleep(1.5)"
    messages = await call(client, addr, "s1", wire.dumps(CellTask(source)))
    (seen, first), (ended, last) = messages[0], messages[-1]
    assert first == {"type": "output", "stream": "stdout", "text": "working\n"}
    assert last["type"] == REPORT and last["state"] == "done"
    assert ended - seen > 1.0  # the output came while the job slept, not with its report


async def test_progress_messages_come_before_the_report(cluster):
    client, addr = cluster
    dsk = {("x", i): (pow, i, 2) for i in range(20)}
    messages = [m for _, m in await call(client, addr, "g1", wire.dumps(GraphTask(dsk, list(dsk))))]
    progress = [m for m in messages if m["type"] == "progress"]
    assert progress and progress[-1] == {"type": "progress", "done": 20, "total": 20}
    assert messages[-1]["type"] == REPORT and messages.index(progress[-1]) < len(messages) - 1


async def test_fairshare_kill_cancels_a_running_job_within_a_second(cluster):
    client, addr = cluster
    started = asyncio.Event()
    source = "print('up', flush=True)\nimport time\ntime.sleep(30)"
    running = asyncio.ensure_future(call(client, addr, "k1", wire.dumps(CellTask(source)),
                                         on_message=lambda m: started.set()))
    await asyncio.wait_for(started.wait(), timeout=10)
    begun = time.monotonic()
    assert await client.rpc(addr).fairshare_kill(job_id="k1") == {"status": "OK", "killed": True}
    report = (await asyncio.wait_for(running, timeout=5))[-1][1]
    assert time.monotonic() - begun < 1.0
    assert (report["state"], report["reason"]) == ("cancelled", "cancelled")


async def test_a_large_result_travels_in_its_own_frame_and_our_own_failure_is_an_error_message(cluster):
    client, addr = cluster
    big = (await call(client, addr, "d2", wire.dumps(CallTask(bytes, (1 << 20,)))))[-1][1]  # over the frame threshold
    assert big["state"] == "done" and wire.loads(big["result"]).value == bytes(1 << 20)
    broken = (await call(client, addr, "d3", b"not a payload"))[-1][1]  # refused before any process runs
    assert broken["type"] == ERROR and "not a jupyter-fairshare payload" in broken["text"]
