"""The Job future: its result, its errors, its events and awaiting it, against a real pool process."""

import os
import signal
import time

import pytest

from jupyter_fairshare import wire
from jupyter_fairshare.client import errors
from jupyter_fairshare.protocol import EventType

from ..conftest import submit


def add(a, b=0):
    return a + b



def _fill(pool_server, seconds: float) -> None:
    """Keep both of the session pool's workers busy for ``seconds``."""
    with pool_server.client(pool_server.add_account(f"filler-{time.monotonic_ns()}")) as http:
        for _ in range(2):
            submit(http, time.sleep, seconds)


def test_a_queued_job_reports_its_position_then_follows_events_to_the_end(pool, pool_server):
    _fill(pool_server, 1.5)
    job = pool.submit(add, 1)
    assert job.info["state"] == "queued" and job.info["position"] >= 1
    assert f"{job.info['position']} of " in repr(job)
    assert job.result(timeout=60) == 1
    assert job.info["state"] == "done" and job.info["position"] is None


def test_a_remote_exception_is_raised_as_itself_with_the_remote_traceback_as_cause(pool):
    job = pool.submit(add, 1, "x")
    with pytest.raises(TypeError) as info:
        job.result(timeout=60)
    assert isinstance(info.value.__cause__, errors.RemoteTraceback)
    assert "Remote traceback" in str(info.value.__cause__) and "add" in str(info.value.__cause__)


def test_a_cancelled_job_says_so(pool):
    job = pool.submit(time.sleep, 30)
    assert job.cancel() is True and job.done()
    with pytest.raises(errors.JobCancelled, match=f"{job.id} was cancelled"):
        job.result()


def test_a_max_cost_stop_raises_max_cost_reached_with_the_pools_sentence(pool):
    job = pool.submit(time.sleep, 30, max_cost=2e-6)
    with pytest.raises(errors.MaxCostReached, match="raise --max-cost"):
        job.result(timeout=60)


def test_a_failed_job_without_a_result_raises_job_failed_with_its_error(pool):
    def hog():
        return bytearray(400 * 10**6)  # over the 100 MB it asked for

    job = pool.submit(hog, memory="100MB")
    with pytest.raises(errors.JobFailed, match="memory limit of 100 MB"):
        job.result(timeout=60)


def test_a_version_mismatch_on_the_worker_raises_version_mismatch(pool, monkeypatch):
    monkeypatch.setattr(wire, "runtime_versions", lambda: {"python": "3.99", "cloudpickle": "3.1.0"})
    job = pool.submit(add, 1)
    with pytest.raises(errors.VersionMismatch, match="3.99"):
        job.result(timeout=60)


def test_a_lost_worker_is_a_warning_and_the_job_goes_on(pool):
    def report_then_sleep():
        import time as _time

        import psutil

        print("worker-pid", psutil.Process().parents()[1].pid, flush=True)
        _time.sleep(1.0)
        return "finished"

    job = pool.submit(report_then_sleep)
    for event in job.events(timeout=60):
        if event.type == EventType.OUTPUT and "worker-pid" in event.data.get("text", ""):
            os.kill(int(event.data["text"].split()[1]), signal.SIGKILL)
            break
    with pytest.warns(errors.WorkerLost, match="back in the queue"):
        assert job.result(timeout=60) == "finished"


async def test_a_job_can_be_awaited(pool):
    assert await pool.submit(add, 20, 22) == 42


async def test_awaiting_a_cancelled_job_raises_job_cancelled(pool):
    job = pool.submit(time.sleep, 30)
    job.cancel()
    with pytest.raises(errors.JobCancelled, match=f"{job.id} was cancelled"):
        await job


async def test_awaiting_a_job_raises_its_remote_exception(pool):
    with pytest.raises(TypeError):
        await pool.submit(add, 1, "x")


def _arrays(n):
    import numpy as np

    return np.arange(n, dtype=np.float64)


def _frame(n):
    import pandas as pd

    return pd.DataFrame({"a": range(n), "b": [float(i) for i in range(n)]})


@pytest.mark.parametrize("n", [100, 1_000_000], ids=["inline", "fetched"])
def test_a_returned_numpy_array_is_writable_like_a_local_one(pool, n):
    array = pool.submit(_arrays, n).result(timeout=60)
    assert array.flags.writeable
    array[0] = 42.0
    array.sort()
    assert array[-1] == max(42.0, n - 1)


@pytest.mark.parametrize("n", [100, 200_000], ids=["inline", "fetched"])
def test_a_returned_dataframe_can_be_changed_in_place(pool, n):
    frame = pool.submit(_frame, n).result(timeout=60)
    local = _frame(n)
    frame.loc[0, "b"] = -1.0
    frame.iloc[1, 0] = 7
    frame.sort_values("b", inplace=True)
    assert frame["b"].iloc[0] == -1.0 and frame["a"].iloc[1] == 7
    def flags(f):
        return [b.values.flags.writeable for b in f._mgr.blocks]

    assert flags(frame) == flags(local)


def test_a_result_over_httpx_is_writable_too(pool):
    from jupyter_fairshare.client.transport import HTTPXTransport

    pool.client._transport = HTTPXTransport(pool.client.url + "/api/v1")
    array = pool.submit(_arrays, 1_000_000).result(timeout=60)
    array[0] = 1.0
    assert array.flags.writeable


def test_result_with_a_timeout_gives_up_on_time_while_the_pool_only_sends_keep_alives(pool, pool_server):
    """A queued job gets no event while it waits, but the pool's stream sends a keep-alive
    comment every 15 s; the wait must still end at its timeout, not when the job ends."""
    _fill(pool_server, 30)
    job = pool.submit(add, 1)
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=f"Job {job.id} is still"):
        job.result(timeout=17)
    waited = time.monotonic() - started
    job.cancel()
    assert 17 <= waited < 18.5 and not job.info["state"] == "done"


def test_result_with_a_short_timeout_on_a_queued_job_raises_at_once(pool, pool_server):
    _fill(pool_server, 3)
    job = pool.submit(add, 1)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        job.result(timeout=0.5)
    assert time.monotonic() - started < 1.5
    assert job.result(timeout=60) == 1


def _chatty(x):
    import sys

    print("working on", x)
    print("careful", file=sys.stderr)
    return x + 1


def test_result_shows_the_jobs_prints_on_the_callers_streams_once(pool, capsys):
    job = pool.submit(_chatty, 1)
    assert job.result(timeout=60) == 2
    assert job.result(timeout=60) == 2
    shown = capsys.readouterr()
    assert shown.out == "working on 1\n" and shown.err == "careful\n"


def test_result_of_a_job_seen_ended_without_its_stream_still_shows_its_prints(pool, capsys):
    job = pool.submit(_chatty, 2)
    while not job.done():
        job.refresh()
        time.sleep(0.05)
    assert job.result(timeout=60) == 3
    assert capsys.readouterr().out == "working on 2\n"


def _deprecated(x):
    import warnings

    warnings.warn("use something else", FutureWarning, stacklevel=1)
    return x


def test_a_warning_a_submitted_call_issues_is_issued_again_in_the_caller(pool):
    with pytest.warns(FutureWarning, match="use something else"):
        assert pool.submit(_deprecated, 5).result(timeout=60) == 5


def _package(root, version, core):
    package = root / "fsverpkg"
    package.mkdir(exist_ok=True)
    imports = "from ._core import Thing\n" if core else ""
    (package / "__init__.py").write_text(f"__version__ = {version!r}\n" + imports)
    if core:
        (package / "_core.py").write_text("class Thing:\n    pass\n")
    elif (package / "_core.py").exists():
        (package / "_core.py").unlink()


def test_a_result_made_with_another_version_of_a_package_names_both_versions(tmp_path, monkeypatch):
    """NumPy 2 results in a NumPy 1 kernel fail with ModuleNotFoundError: numpy._core; here a
    package's 2.0 makes the result and its 1.0, without that submodule, unpacks it."""
    import importlib
    import sys

    from jupyter_fairshare.notebook.outcomes import load_outcome

    monkeypatch.syspath_prepend(str(tmp_path))
    _package(tmp_path, "2.0", core=True)
    import fsverpkg

    blob = bytearray(wire.dumps(wire.Outcome(ok=True, value=fsverpkg.Thing())))
    for name in [m for m in sys.modules if m.startswith("fsverpkg")]:
        monkeypatch.delitem(sys.modules, name)
    _package(tmp_path, "1.0", core=False)
    importlib.invalidate_caches()
    with pytest.raises(errors.VersionMismatch, match=r"fsverpkg 2\.0 on the worker but 1\.0 in this kernel"):
        load_outcome("j1", blob)
    for name in [m for m in sys.modules if m.startswith("fsverpkg")]:
        monkeypatch.delitem(sys.modules, name)


async def test_awaiting_a_job_shows_its_prints(pool, capsys):
    job = pool.submit(_chatty, 3)
    assert await job == 4
    assert capsys.readouterr().out == "working on 3\n"
