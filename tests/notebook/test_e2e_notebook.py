"""The notebook side against a real pool process with a real LocalCluster behind it."""

import time

import pytest
from IPython.core.interactiveshell import InteractiveShell

import jupyter_fairshare as fs
from jupyter_fairshare.notebook.magics import FairshareMagics
from tests.conftest import eventually


@pytest.fixture
def pool(pool_server, request):
    server = pool_server
    token = server.add_account(f"nb-{request.node.name[:40]}-{time.monotonic_ns()}")
    pool = fs.connect(server.url, token)
    yield pool
    pool.close()


@pytest.fixture
def shell(pool):
    shell = InteractiveShell.instance()
    magics = FairshareMagics(shell)
    magics.pool = pool
    shell.register_magics(magics)
    shell.user_ns["x"] = 20
    yield shell
    for name in ("x", "y", "z"):
        shell.user_ns.pop(name, None)


def test_a_cell_runs_on_the_pool_and_its_results_come_back(shell, capsys):
    value = shell.run_cell_magic("fairshare", "--name e2e", "print('remote', x)\ny = x + 22\ny")
    out = capsys.readouterr().out
    assert shell.user_ns["y"] == 42 and value == 42  # IPython shows the value as the cell's result
    assert "remote 20" in out


def test_a_remote_exception_is_raised_in_the_notebook(shell):
    with pytest.raises(ZeroDivisionError):
        shell.run_cell_magic("fairshare", "", "x / 0")


def test_submit_returns_a_job_that_resolves_to_the_value_and_a_bill(pool):
    def double(v):  # local, so it travels by value as a notebook's functions do
        return 2 * v

    job = pool.submit(double, 21)
    assert job.result(timeout=120) == 42
    assert job.status == "done" and job.bill is not None and job.bill["total"] >= 0


def test_dask_compute_runs_the_graph_as_one_job(pool):
    import dask
    import dask.array as da

    before = len(pool.jobs())
    (total,) = dask.compute(da.arange(1000, chunks=100).sum(), scheduler=pool.get)
    assert total == 499500
    jobs = pool.jobs()
    assert len(jobs) == before + 1 and jobs[0].info["kind"] == "graph"


def test_a_bad_token_is_refused_with_a_clear_error(pool):
    with pytest.raises(fs.BadToken):
        fs.connect(pool.url, "not-a-token").account()


def test_a_large_argument_is_written_into_a_local_pools_spool_instead_of_uploaded(pool, pool_server):
    import numpy as np

    def total(a):
        return float(a.sum())

    array = np.ones(16 * 2**20 // 8)  # 16 MiB, over the client's spool threshold
    job = pool.submit(total, array)
    assert job.result(timeout=120) == array.size
    spool = pool_server.data_dir / "spool"
    assert spool.is_dir() and not list(spool.glob("*.part"))
    assert eventually(lambda: not list(spool.glob(f"{job.id}*"))), "the finished job's payload file stayed"
