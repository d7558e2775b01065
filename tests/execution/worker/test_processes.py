"""Job processes kept for the same account's next job: when they are, and when they must not be.

Real job processes forked by the real zygote, driven through ``run_job`` as the worker does.
"""

from __future__ import annotations

import os

import psutil

from jupyter_fairshare import wire
from jupyter_fairshare.execution.job import child
from jupyter_fairshare.execution.worker import processes, run_job
from jupyter_fairshare.wire import CallTask, CellTask, GraphTask
from tests.conftest import eventually

LIMITS = {"cpus": 1.0, "memory": 2 * 2**30, "wall_seconds": None}


def run(task, account="alice", events=None, **limits):
    report = run_job("job", 1, wire.dumps(task), {**LIMITS, "account_key": account, **limits},
                     emit=(events if events is not None else []).append)
    assert report["state"] in ("done", "failed"), report
    return report


def pid_of(account="alice", **limits) -> int:
    return wire.loads(run(CallTask(os.getpid), account, **limits)["result"]).value


def value_of(source: str, account="alice"):
    return wire.loads(run(CellTask(source), account)["result"]).value


def test_the_same_accounts_next_job_runs_in_the_same_process_and_another_accounts_never_does():
    first = pid_of("alice")
    assert pid_of("alice") == first
    bob = pid_of("bob")
    assert bob != first
    assert pid_of("alice") == first and pid_of("bob") == bob


def test_a_job_without_an_account_key_or_with_a_spool_file_gets_a_process_of_its_own(tmp_path):
    before = pid_of("alice")
    anonymous = wire.loads(run_job("job", 1, wire.dumps(CallTask(os.getpid)), LIMITS, emit=[].append)["result"]).value
    assert anonymous != before
    spool = tmp_path / "payload"
    spool.write_bytes(wire.dumps(CallTask(os.getpid)))
    spooled = wire.loads(run_job("job", 1, b"", {**LIMITS, "account_key": "alice", "payload_path": str(spool)},
                                 emit=[].append)["result"]).value
    assert spooled != before
    assert pid_of("alice") == before  # neither took the kept process


def test_each_job_gets_a_fresh_namespace_working_directory_and_environment(tmp_path):
    first = value_of(f"import os\nsecret = 42\nos.chdir({str(tmp_path)!r})\nos.environ['FS_LEFT'] = '1'\nos.getpid()")
    again = value_of("import os\n(os.getpid(), 'secret' in globals(), os.getcwd(), os.environ.get('FS_LEFT'))")
    assert again[0] == first
    assert again[1:] == (False, os.getcwd(), None)


def test_a_job_that_leaves_a_thread_running_ends_its_process():
    left = value_of("import os, threading, time\n"
                    "threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\nos.getpid()")
    assert pid_of() != left


def test_a_job_that_leaves_a_process_behind_ends_its_process_even_if_it_detached():
    source = ("import os, subprocess, sys\n"
              "subprocess.Popen([sys.executable, '-c', 'import os, time\\nif os.fork(): os._exit(0)\\ntime.sleep(30)'])"
              ".wait()\nos.getpid()")  # a double fork: the sleeper is orphaned at once
    left = value_of(source)
    assert pid_of() != left


def test_a_job_that_leaves_the_process_much_larger_ends_it_and_one_that_frees_its_memory_does_not():
    grown = value_of(f"import os\nos.hoard = b'x' * {2 * child.KEEP_GROWTH}\nos.getpid()")  # outlives the namespace
    assert pid_of() != grown
    freed = run(CellTask("import os\nbig = b'x' * (200 * 2**20)\ndel big\nos.getpid()"))
    pid = wire.loads(freed["result"]).value
    small = run(CallTask(os.getpid))
    assert wire.loads(small["result"]).value == pid
    # The peak memory of the kept process's next job is its own, not the earlier job's.
    assert freed["peak_memory"] > 200 * 2**20 > small["peak_memory"]


def test_a_failed_job_keeps_its_process_and_the_failure_still_reports():
    failed = run(CellTask("import os\npid = os.getpid()\nraise ValueError(pid)"))
    assert failed["state"] == "failed"
    pid = int(wire.loads(failed["result"]).error_message)
    assert pid_of() == pid


def test_all_output_of_a_kept_processes_job_arrives_before_the_report():
    events = []
    report = run(CellTask("import os\nfor i in range(20000): print(i)\nos.getpid()"), events=events)
    text = "".join(e["text"] for e in events if e["type"] == "output" and e["stream"] == "stdout")
    assert text == "".join(f"{i}\n" for i in range(20000))
    assert pid_of() == wire.loads(report["result"]).value


def test_at_most_kept_processes_wait_and_the_oldest_goes_first():
    first = pid_of("account-0")
    for i in range(1, processes.KEPT + 1):
        pid_of(f"account-{i}")
    assert pid_of("account-0") != first
    assert pid_of(f"account-{processes.KEPT}") == pid_of(f"account-{processes.KEPT}")


def test_a_kept_process_that_died_while_waiting_is_replaced_not_reported_as_the_jobs_failure():
    dead = pid_of()
    os.kill(dead, 9)
    assert eventually(lambda: not psutil.pid_exists(dead))
    assert pid_of() != dead


def test_a_job_given_more_than_one_cpu_ends_its_process_so_the_next_gets_one_thread_pools():
    def blas_threads():
        from threadpoolctl import threadpool_info

        return os.getpid(), sorted({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"})

    wide = wire.loads(run(CallTask(blas_threads), cpus=2.0)["result"]).value
    narrow = wire.loads(run(CallTask(blas_threads))["result"]).value
    assert wide[1] == [2] and narrow[1] == [1] and narrow[0] != wide[0]


def test_the_zygote_imports_numpy_pandas_and_sklearn_ahead_of_jobs():
    def loaded():
        import sys

        return sorted(name for name in ("numpy", "pandas", "sklearn") if name in sys.modules)

    assert wire.loads(run(CallTask(loaded))["result"]).value == ["numpy", "pandas", "sklearn"]


def test_a_job_that_imports_a_heavy_library_keeps_its_process_for_the_accounts_next_job():
    processes.configure(())  # the job itself imports pandas and scikit-learn, as without preload
    try:
        imported = value_of("import os, pandas, sklearn.linear_model\n"
                            "pandas.DataFrame({'k': [1, 2, 1]}).groupby('k').size()\nos.getpid()")
        assert pid_of() == imported
        # A module imported is not a licence to hoard: growth the same job leaves in state still counts.
        grown = value_of(f"import os, json\nos.hoard = b'x' * {2 * child.KEEP_GROWTH}\nos.getpid()")
        assert pid_of() != grown
    finally:
        processes.configure(processes.PRELOAD)


def test_graph_jobs_and_cells_that_compute_with_dask_keep_their_process():
    from operator import add

    graph = wire.loads(run(GraphTask({"a": 1, "b": (add, "a", "a"), "pid": (os.getpid,)}, ["b", "pid"]))["result"])
    assert graph.value[0] == 2
    assert pid_of() == graph.value[1]
    computed = value_of("import os, dask.array as da\n"
                        "assert da.ones(100, chunks=10).sum().compute() == 100\nos.getpid()")
    assert pid_of() == computed


def test_a_notebooks_next_cell_gets_the_process_that_ran_its_previous_cell_among_the_accounts_kept_ones():
    def cell(source, notebook):
        limits = {**LIMITS, "account_key": "alice", "notebook_key": notebook}
        return wire.loads(run_job("job", 1, wire.dumps(CellTask(source)), limits, emit=[].append)["result"]).value

    seeded = cell("import os, random\nrandom.seed(7)\nos.getpid()", "nb-a")
    other = cell("import os\nos.getpid()", "nb-b")
    assert other != seeded  # the account's kept process belongs to nb-a; nb-b gets one of its own
    for _ in range(3):
        assert cell("import os\nos.getpid()", "nb-b") == other  # nb-b's cells in between
        assert pid_of("alice") in (seeded, other)  # a job of no notebook may take either
        assert pid_of("bob") not in (seeded, other)
        assert cell("import os, random\nos.getpid()", "nb-a") == seeded
    assert cell("import random\nrandom.random()", "nb-a") == __import__("random").Random(7).random()
