"""The dispatcher on its own (no pool) against a real Dask LocalCluster and real job processes."""

from __future__ import annotations

import asyncio
import os
import signal

import psutil
import pytest
import pytest_asyncio
from distributed import Client, LocalCluster

from jupyter_fairshare import wire
from jupyter_fairshare.pool.dispatcher import Dispatcher, WorkerError, WorkerLost, on_this_host, site_of
from jupyter_fairshare.wire import CallTask, CellTask, GraphTask

pytestmark = pytest.mark.asyncio(loop_scope="module")
LIMITS = {"cpus": 1.0, "memory": 2 * 2**30, "wall_seconds": 30.0}
SLEEPER = "print('up', flush=True)\nimport time\ntime.sleep(30)"
THREE_LINES = "import time\nfor i in range(3):\n    print(f'line {i}', flush=True)\n    time.sleep(0.1)\n'done'"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client():
    async with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                            asynchronous=True) as cluster:
        async with Client(cluster, asynchronous=True) as client:
            yield client


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def dispatcher(client):
    dispatcher = Dispatcher(client, default_site="local", known_sites={"local"})
    await dispatcher.start()
    yield dispatcher
    await dispatcher.stop()


class Seen:
    """Everything the callbacks received, in one list, so their order against each other shows."""

    def __init__(self) -> None:
        self.log: list[tuple[str, object]] = []
        self.output = asyncio.Event()

    def on_output(self, chunk: dict) -> None:
        self.log.append(("output", chunk))
        self.output.set()

    def on_progress(self, done: int, total: int) -> None:
        self.log.append(("progress", (done, total)))


async def run(dispatcher, job_id, task, limits=LIMITS, seen=None, node=None):
    seen = seen if seen is not None else Seen()
    node = node or dispatcher.nodes()[0].name
    payload = task if isinstance(task, bytes) else wire.dumps(task)
    report = await dispatcher.run(node, job_id, 1, payload, limits, seen.on_output, seen.on_progress)
    seen.log.append(("report", report))
    return report, seen


async def test_nodes_are_the_clusters_workers_at_the_default_site_with_their_capacity(dispatcher):
    nodes = dispatcher.nodes()
    assert len(nodes) == 2
    assert {n.site for n in nodes} == {"local"} and {n.cpus for n in nodes} == {1.0}
    assert all(dispatcher.has(n.name) and on_this_host(n.name) for n in nodes)
    assert await dispatcher.refresh() is False  # nothing joined or left since start
    assert dispatcher.scheduler_address.startswith("tcp://")


async def test_workers_of_a_site_the_pool_does_not_know_are_left_out(client):
    other = Dispatcher(client, default_site="local", known_sites={"elsewhere"})
    await other.refresh()
    assert other.nodes() == []
    assert site_of("elsewhere/host-1", "local") == "elsewhere" and site_of("3", "local") == "local"


async def test_a_jobs_three_lines_reach_on_output_in_order_before_run_returns_its_report(dispatcher):
    report, seen = await run(dispatcher, "three", CellTask(THREE_LINES))
    assert [kind for kind, _ in seen.log] == ["output", "output", "output", "report"]
    assert [chunk for _, chunk in seen.log[:3]] == [{"stream": "stdout", "text": f"line {i}\n"} for i in range(3)]
    assert report["state"] == "done" and wire.loads(report["result"]).value == "done"


async def test_a_graph_jobs_progress_reaches_on_progress_before_the_report(dispatcher):
    dsk = {("x", i): (pow, i, 2) for i in range(20)}
    report, seen = await run(dispatcher, "graph", GraphTask(dsk, list(dsk)))
    progress = [value for kind, value in seen.log if kind == "progress"]
    assert progress and progress[-1] == (20, 20) and seen.log[-1][0] == "report"
    assert list(wire.loads(report["result"]).value) == [i * i for i in range(20)]


async def test_kill_of_a_running_job_makes_run_return_a_cancelled_report(dispatcher):
    seen = Seen()
    node = dispatcher.nodes()[0].name
    running = asyncio.ensure_future(
        run(dispatcher, "killed", CellTask(SLEEPER), seen=seen, node=node))
    await asyncio.wait_for(seen.output.wait(), timeout=10)
    await dispatcher.kill(node, "killed")
    report, _ = await asyncio.wait_for(running, timeout=5)
    assert (report["state"], report["reason"], report["result"]) == ("cancelled", "cancelled", None)


async def test_abandoning_a_run_stops_its_job_at_its_next_output(dispatcher):
    seen = Seen()
    chatty = "import os, time\nprint(os.getpid(), flush=True)\nfor _ in range(300):\n    print('.', flush=True)\n" \
             "    time.sleep(0.1)"
    running = asyncio.ensure_future(run(dispatcher, "abandoned", CellTask(chatty), seen=seen))
    await asyncio.wait_for(seen.output.wait(), timeout=10)
    pid = int(seen.log[0][1]["text"].split()[0])
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert await eventually_gone(pid, timeout=5)


async def eventually_gone(pid: int, timeout: float) -> bool:
    """Whether the process ``pid`` (a job process on this host) exits within ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while _alive(pid):
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


async def test_a_job_stopped_by_a_wall_limit_marked_max_cost_reports_reason_max_cost(dispatcher):
    limits = {**LIMITS, "wall_seconds": 0.3, "wall_reason": "max cost"}
    report, _ = await run(dispatcher, "capped", CellTask("import time\ntime.sleep(10)"), limits=limits)
    assert (report["state"], report["reason"]) == ("failed", "max cost")
    assert report["error"].startswith("Max cost reached")


async def test_a_large_payload_and_result_cross_in_frames_of_their_own(dispatcher):
    blob = os.urandom(1 << 20)
    report, _ = await run(dispatcher, "large", CallTask(bytes, (blob,)))
    assert wire.loads(report["result"]).value == blob


async def test_our_own_failure_on_the_worker_raises_worker_error(dispatcher):
    with pytest.raises(WorkerError, match="not a jupyter-fairshare payload"):
        await run(dispatcher, "broken", b"not a payload")


async def test_a_server_without_our_handler_raises_worker_lost_so_the_job_runs_elsewhere(dispatcher):
    # A worker that just joined may not have installed the plugin yet; the scheduler never has it.
    with pytest.raises(WorkerLost, match="no fairshare_run handler"):
        await run(dispatcher, "early", CallTask(int), node=dispatcher.scheduler_address)


async def test_account_keys_tell_accounts_apart_without_naming_them(client, dispatcher):
    assert dispatcher.account_key(7) == dispatcher.account_key(7) != dispatcher.account_key(8)
    assert len(dispatcher.account_key(7)) == 24 and int(dispatcher.account_key(7), 16) >= 0  # a keyed hash
    other = Dispatcher(client, default_site="local", known_sites={"local"})
    assert other.account_key(7) != dispatcher.account_key(7)  # a fresh secret per dispatcher


def _preloaded():
    import sys

    return sorted(name for name in ("xml.dom.minidom", "pandas") if name in sys.modules)


async def test_the_dispatchers_preload_reaches_every_workers_zygote_and_a_change_replaces_it(client):
    named = Dispatcher(client, default_site="local", known_sites={"local"}, preload=["xml.dom.minidom"])
    await named.start()
    try:
        for node in named.nodes():
            report, _ = await run(named, f"preload-{node.name}", CallTask(_preloaded), node=node.name)
            assert wire.loads(report["result"]).value == ["xml.dom.minidom"]
    finally:
        await named.stop()
        default = Dispatcher(client, default_site="local", known_sites={"local"})
        await default.start()  # the module's other tests expect the default preload back
        await default.stop()
    report, _ = await run(default, "preload-default", CallTask(_preloaded))
    assert wire.loads(report["result"]).value == ["pandas"]


async def test_a_worker_killed_mid_job_raises_worker_lost_and_is_left_out_of_the_nodes(client, dispatcher):
    # Last in this module: the cluster's nanny replaces the killed worker under a new address.
    seen = Seen()
    node = dispatcher.nodes()[-1].name
    running = asyncio.ensure_future(
        run(dispatcher, "orphan", CellTask(SLEEPER), seen=seen, node=node))
    await asyncio.wait_for(seen.output.wait(), timeout=10)
    pids = await client.run(os.getpid, workers=[node])
    os.kill(pids[node], signal.SIGKILL)
    with pytest.raises(WorkerLost):
        await asyncio.wait_for(running, timeout=10)
    assert not dispatcher.has(node) and node not in [n.name for n in dispatcher.nodes()]

