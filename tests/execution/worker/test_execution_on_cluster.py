"""run_job and kill_job as the pool's dispatcher uses them: on a real Dask LocalCluster."""

from __future__ import annotations

import threading
import time

import pytest
from distributed import Client, LocalCluster

from jupyter_fairshare import wire
from jupyter_fairshare.execution.worker import kill_job, run_job, warm_up
from jupyter_fairshare.wire import CallTask, CellTask, GraphTask

LIMITS = {"cpus": 1.0, "memory": 2 * 2**30, "wall_seconds": 30.0}


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        with Client(cluster) as c:
            c.run(warm_up)
            yield c


@pytest.fixture
def events(client):
    """Events published on the fairshare topic, with the time each arrived."""
    received: list[tuple[float, dict]] = []
    lock = threading.Condition()

    def handler(event):
        with lock:
            received.append((time.monotonic(), event[1]))
            lock.notify_all()

    client.subscribe_topic(wire.EVENT_TOPIC, handler)
    yield received, lock
    client.unsubscribe_topic(wire.EVENT_TOPIC)


def submit(client, job_id, task, limits=LIMITS):
    addr = next(iter(client.scheduler_info()["workers"]))
    return client.submit(
        run_job, job_id, 1, wire.dumps(task), limits,
        key=f"fairshare-{job_id}-1", workers=[addr], allow_other_workers=False, pure=False,
    )


def test_call_cell_and_graph_run_on_the_worker(client):
    from operator import mul

    call = submit(client, "c1", CallTask(divmod, (17, 5)))
    cell = submit(client, "c2", CellTask("y = x * 2\ny + 1", inputs={"x": 20}, outputs=["y"]))
    graph = submit(client, "c3", GraphTask({"a": 3, "b": (mul, "a", "a")}, "b"))
    assert wire.loads(call.result()["result"]).value == (3, 2)
    outcome = wire.loads(cell.result()["result"])
    assert (outcome.value, outcome.outputs) == (41, {"y": 40})
    assert wire.loads(graph.result()["result"]).value == 9


def test_output_event_arrives_while_the_job_still_sleeps(client, events):
    received, lock = events
    future = submit(client, "s1", CellTask("print('working', flush=True)\nimport time\ntime.sleep(2)"))
    with lock:
        assert lock.wait_for(lambda: any(e.get("job") == "s1" and e["type"] == "output" for _, e in received), timeout=5)
    assert not future.done()
    report = future.result()
    assert report["state"] == "done"
    event = next(e for _, e in received if e.get("job") == "s1")
    fields = {"job": "s1", "attempt": 1, "type": "output", "stream": "stdout", "text": "working\n"}
    assert {k: event[k] for k in fields} == fields


def test_progress_events_reach_subscribers(client, events):
    received, lock = events
    dsk = {("x", i): (pow, i, 2) for i in range(20)}
    submit(client, "g1", GraphTask(dsk, list(dsk))).result()
    with lock:
        assert lock.wait_for(lambda: any(e.get("job") == "g1" and e["type"] == "progress" and e["done"] == 20 for _, e in received), timeout=5)


def test_kill_job_through_client_run_cancels_within_a_second(client, events):
    received, lock = events
    addr = next(iter(client.scheduler_info()["workers"]))
    future = submit(client, "k1", CellTask("print('up', flush=True)\nimport time\ntime.sleep(30)"))
    with lock:
        assert lock.wait_for(lambda: any(e.get("job") == "k1" for _, e in received), timeout=5)
    begun = time.monotonic()
    assert client.run(kill_job, "k1", workers=[addr]) == {addr: True}
    report = future.result(timeout=5)
    assert time.monotonic() - begun < 1.0
    assert report["state"] == "cancelled"


def test_the_direct_handler_answers_in_plain_msgpack_with_a_large_result_in_its_own_frame(client):
    from distributed.utils import sync

    from jupyter_fairshare.execution.worker import DirectRuns, framed

    client.register_plugin(DirectRuns())
    addr = next(iter(client.scheduler_info()["workers"]))

    def call(job_id, payload, limits=LIMITS):
        async def go():
            return await client.rpc(addr).fairshare_run(job_id=job_id, attempt=1, payload=framed(payload), limits=limits)
        return sync(client.loop, go)

    small = call("d1", wire.dumps(CallTask(divmod, (17, 5))))
    assert small["status"] == "OK" and small["state"] == "done" and small["events"] == 0
    assert wire.loads(small["result"]).value == (3, 2)
    big = call("d2", wire.dumps(CallTask(bytes, (1 << 20,))))  # a 1 MiB result: over the frame threshold
    assert big["state"] == "done" and wire.loads(big["result"]).value == bytes(1 << 20)
    broken = call("d3", b"not a payload")  # the worker's own code refuses it before any process runs
    assert broken["status"] == "error" and "not a jupyter-fairshare payload" in broken["text"]
