"""run_job end to end in real job processes, without a Dask worker (events go to a list)."""

from __future__ import annotations

import threading
import time

import psutil
import pytest

from jupyter_fairshare import wire
from jupyter_fairshare.execution.worker import kill_job, run_job
from jupyter_fairshare.wire import CallTask, CellTask, GraphTask

LIMITS = {"cpus": 1.0, "memory": 2 * 2**30, "wall_seconds": None}


def run(task, limits=LIMITS, events=None, job="job", **header):
    return run_job(job, 1, wire.dumps(task, **header), limits, emit=(events if events is not None else []).append)


def text_of(events, stream):
    return "".join(e["text"] for e in events if e["type"] == "output" and e["stream"] == stream)


def test_call_returns_its_value_and_measures_the_run():
    report = run(CallTask(pow, (2, 10)))
    assert report["state"] == "done" and report["error"] is None
    assert wire.loads(report["result"]).value == 1024
    assert report["wall_seconds"] > 0 and report["peak_memory"] > 1_000_000


def test_user_code_runs_in_another_process():
    import os

    report = run(CallTask(os.getpid))
    assert wire.loads(report["result"]).value != os.getpid()


def test_cell_last_expression_is_the_value_for_the_kernel_to_show():
    report = run(CellTask("a = 20\na + 1"))
    outcome = wire.loads(report["result"])
    assert outcome.value == 21 and outcome.displays == []


def test_cell_ending_in_semicolon_shows_nothing():
    outcome = wire.loads(run(CellTask("1 + 1;  # hidden"))["result"])
    assert outcome.value is None and outcome.displays == []


def test_cell_inputs_and_outputs_round_trip_skipping_unassigned_names():
    report = run(CellTask("total = sum(xs)\nxs.append(0)", inputs={"xs": [1, 2]}, outputs=["total", "xs", "never"]))
    outcome = wire.loads(report["result"])
    assert outcome.outputs == {"total": 3, "xs": [1, 2, 0]}


def test_cell_display_calls_pandas_and_matplotlib_figures_become_bundles():
    source = (
        "import pandas as pd\n"
        "import matplotlib.pyplot as plt\n"
        "from IPython.display import display, HTML\n"
        "display(HTML('<b>hi</b>'))\n"
        "plt.plot([1, 2, 3])\n"
        "pd.DataFrame({'a': [1, 2]})\n"
    )
    outcome = wire.loads(run(CellTask(source))["result"])
    kinds = [sorted(b["data"]) for b in outcome.displays]
    assert kinds == [["text/html", "text/plain"], ["image/png", "text/plain"]]
    assert outcome.displays[0]["data"]["text/html"] == "<b>hi</b>"
    # The DataFrame is the cell's value, shown by the kernel before the figure drawn at the end.
    assert outcome.value.to_dict() == {"a": {0: 1, 1: 2}} and outcome.value_at == 1
    import base64

    assert base64.b64decode(outcome.displays[1]["data"]["image/png"]).startswith(b"\x89PNG")


def test_cell_top_level_await_runs():
    outcome = wire.loads(run(CellTask("import asyncio\nawait asyncio.sleep(0)\n'awaited'"))["result"])
    assert outcome.value == "awaited"


def test_cell_exception_comes_back_with_an_ipython_traceback_without_our_frames():
    report = run(CellTask("x = 1\n1 / 0", name="<cell-7>", execution_count=7))
    assert report["state"] == "failed"
    assert report["error"] == "ZeroDivisionError: division by zero"
    outcome = wire.loads(report["result"])
    assert not outcome.ok and outcome.error_type == "ZeroDivisionError"
    assert isinstance(outcome.exception, ZeroDivisionError)
    text = "\n".join(outcome.traceback)
    assert "Cell In[7], line 2" in text and "----> 2 1 / 0" in text
    assert "jupyter_fairshare" not in text


def test_exception_that_does_not_pickle_still_reports_as_text():
    source = ("import threading\nclass Locked(Exception):\n    lock = None\n"
              "e = Locked('no')\ne.lock = threading.Lock()\nraise e")
    outcome = wire.loads(run(CellTask(source))["result"])
    assert outcome.error_type == "Locked" and outcome.error_message == "no" and outcome.exception is None


def test_output_that_does_not_pickle_is_left_out_with_a_warning():
    events = []
    report = run(CellTask("import threading\nlock = threading.Lock()\nn = 1", outputs=["lock", "n"]), events=events)
    assert wire.loads(report["result"]).outputs == {"n": 1}
    assert "variable 'lock' (lock) cannot be sent back" in text_of(events, "stderr")


def test_graph_computes_nested_keys_as_dask_get_does_and_reports_progress():
    from operator import add

    import dask.threaded

    dsk = {"a": 1, "b": (add, "a", 1), "c": (add, "a", "b"), "d": (sum, ["b", "c"])}
    events = []
    report = run(GraphTask(dsk, ["d", ["b", "c"]]), limits={**LIMITS, "cpus": 2}, events=events)
    value = wire.loads(report["result"]).value
    assert value == dask.threaded.get(dsk, ["d", ["b", "c"]]) and value[0] == 5 and list(value[1]) == [2, 3]
    progress = [(e["done"], e["total"]) for e in events if e["type"] == "progress"]
    assert progress[-1] == (3, 3)


def test_stdout_streams_while_the_job_still_runs():
    events = []
    seen_at = []

    def emit(event):
        events.append(event)
        if event["type"] == "output" and "tick" in event["text"]:
            seen_at.append(time.monotonic())

    begun = time.monotonic()
    task = CellTask("print('tick')\nimport time\ntime.sleep(1.0)")
    report = run_job("stream", 1, wire.dumps(task), LIMITS, emit=emit)
    ended = time.monotonic()
    assert report["state"] == "done" and text_of(events, "stdout") == "tick\n"
    assert seen_at[0] - begun < 0.5 < ended - seen_at[0]


def _start_in_thread(job_id, task, limits=LIMITS):
    events: list = []
    box: dict = {}
    thread = threading.Thread(target=lambda: box.update(run(task, limits, events, job=job_id)))
    thread.start()
    while not text_of(events, "stdout"):
        time.sleep(0.01)
    return thread, box, events


def test_kill_job_stops_the_job_and_its_children_within_a_second():
    source = "import subprocess, time\np = subprocess.Popen(['sleep', '30'])\nprint(p.pid, flush=True)\ntime.sleep(30)"
    thread, box, events = _start_in_thread("to-kill", CellTask(source))
    begun = time.monotonic()
    assert kill_job("to-kill") is True
    thread.join(5)
    assert time.monotonic() - begun < 1.0
    assert (box["state"], box["reason"]) == ("cancelled", "cancelled") and box["result"] is None
    grandchild = int(text_of(events, "stdout"))
    gone = time.monotonic() + 1.0
    while _alive(grandchild) and time.monotonic() < gone:
        time.sleep(0.01)
    assert not _alive(grandchild)


def _alive(pid):
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_kill_before_start_cancels_the_job_when_it_arrives():
    assert kill_job("early") is False
    report = run(CellTask("import time\ntime.sleep(10)"), job="early")
    assert report["state"] == "cancelled"


def test_kill_of_an_unknown_job_is_false():
    assert kill_job("nobody-runs-this") is False


def test_time_limit_stops_the_job_as_failed_with_reason_time():
    report = run(CellTask("import time\ntime.sleep(10)"), limits={**LIMITS, "wall_seconds": 0.3})
    assert (report["state"], report["reason"]) == ("failed", "time")
    assert 0.3 <= report["wall_seconds"] < 1.5
    assert "time limit of 0.3 s" in report["error"]


def test_a_wall_limit_the_pool_marks_as_the_cap_reports_max_cost_without_naming_an_amount():
    limits = {**LIMITS, "wall_seconds": 0.3, "wall_reason": "max cost"}
    report = run(CellTask("import time\ntime.sleep(10)"), limits=limits)
    assert (report["state"], report["reason"]) == ("failed", "max cost")
    assert report["error"].startswith("Max cost reached: the job was stopped at its cap and billed up to it")
    assert "credit" not in report["error"] and "0.3" not in report["error"]


def test_memory_limit_stops_the_job_as_failed_with_reason_memory():
    source = "import time\nchunks = []\nfor _ in range(40):\n    chunks.append(b'x' * 50_000_000)\n    time.sleep(0.01)"
    report = run(CellTask(source), limits={**LIMITS, "memory": 200_000_000})
    assert (report["state"], report["reason"]) == ("failed", "memory")
    assert report["peak_memory"] > 200_000_000
    assert "memory limit of 200 MB" in report["error"]


def test_a_memory_limit_below_what_the_pool_preloads_counts_only_what_the_job_adds():
    """The zygote's preloaded modules (NumPy, pandas, scikit-learn: ~185 MB resident) are in
    every job process; a job asking for 100 MB that allocates 10 MB must run (it failed as
    over its limit before the limit counted from the process's size at the job's start)."""
    source = "import time\nimport numpy as np\nx = np.ones(10_000_000 // 8)\ntime.sleep(0.3)\ntotal = float(x.sum())"
    report = run(CellTask(source, {}, ["total"]), limits={**LIMITS, "memory": 100_000_000})
    assert (report["state"], report["reason"]) == ("done", None), report["error"]


def test_busy_loop_is_charged_cpu_time():
    report = run(CellTask("import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end:\n    pass"))
    assert report["state"] == "done"
    assert 0.25 < report["cpu_seconds"] < 1.0


def test_python_version_mismatch_fails_with_both_versions_named():
    report = run(CallTask(int), versions={"python": "2.7", "cloudpickle": "0.5.0"})
    assert report["state"] == "failed"
    here = wire.runtime_versions()
    packed = "This job was packed with Python 2.7 and cloudpickle 0.5.0"
    assert report["error"].startswith(f"{packed} but the worker runs Python {here['python']}")
    assert wire.loads(report["result"]).error_type == "VersionMismatch"


def test_module_version_mismatch_warns_on_stderr_and_runs():
    events = []
    versions = {**wire.runtime_versions(), "json": "0.0.1"}
    report = run(CallTask(int, ("7",)), events=events, versions=versions)
    assert report["state"] == "done" and wire.loads(report["result"]).value == 7
    assert "module json is 0.0.1 in your kernel but" in text_of(events, "stderr")


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_output_split_across_utf8_boundaries_arrives_intact(stream):
    events = []
    out = f"sys.{stream}.buffer"
    source = (f"import sys, time\nfor _ in range(3):\n"
              f"    {out}.write('é'.encode()[:1]); {out}.flush(); time.sleep(0.06)\n"
              f"    {out}.write('é'.encode()[1:]); {out}.flush()")
    run(CellTask(source), events=events)
    assert text_of(events, stream) == "ééé"


def test_a_job_process_that_dies_is_a_failure_and_the_next_job_still_runs():
    report = run(CellTask("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"))
    assert report["state"] == "failed" and report["result"] is None
    assert report["error"].startswith("The job's process ended without a result")
    assert wire.loads(run(CallTask(abs, (-3,)))["result"]).value == 3


def test_a_payload_that_cannot_be_unpacked_fails_with_the_reason():
    import sys
    import types

    module = types.ModuleType("only_in_the_kernel")
    exec("class Thing:\n    pass", module.__dict__)
    sys.modules["only_in_the_kernel"] = module
    try:
        report = run(CallTask(id, (module.Thing(),)))
    finally:
        del sys.modules["only_in_the_kernel"]
    assert report["state"] == "failed"
    assert report["error"] == "ModuleNotFoundError: No module named 'only_in_the_kernel'"


def test_memory_error_under_a_memory_limit_counts_as_the_limit():
    report = run(CellTask("raise MemoryError()"), limits={**LIMITS, "memory": 300_000_000})
    assert (report["state"], report["reason"]) == ("failed", "memory")
    assert wire.loads(report["result"]).error_type == "MemoryError"


def test_numpy_is_imported_before_the_job_and_its_blas_gets_the_jobs_cpus():
    def state():
        import sys

        from threadpoolctl import threadpool_info

        preloaded = "numpy" in sys.modules  # this function does not reference NumPy itself
        return preloaded, sorted({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"})

    one = wire.loads(run(CallTask(state))["result"]).value
    two = wire.loads(run(CallTask(state), limits={**LIMITS, "cpus": 2.0})["result"]).value
    assert one == (True, [1])
    assert two == (True, [2])
