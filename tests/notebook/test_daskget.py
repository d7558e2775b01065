"""The Dask get: the whole graph as one GraphTask, obeying Dask's scheduler contract."""

from operator import add

import dask
import pytest

import jupyter_fairshare as fs
from jupyter_fairshare import wire
from jupyter_fairshare.notebook.daskget import graph_task

DSK = {"a": 1, "b": (add, "a", 10), "c": (add, "b", "a")}


def _round_trip(dsk, keys):
    task = wire.loads(wire.dumps(graph_task(dsk, keys)))
    return dask.get(task.dsk, task.keys)


@pytest.mark.parametrize(
    ("keys", "expected"),
    [("c", 12), (["a", "c"], (1, 12)), ([["a"], ["b", ["c"]]], ((1,), (11, (12,))))],
)
def test_results_keep_the_nesting_of_the_keys_after_a_wire_round_trip(keys, expected):
    assert _round_trip(DSK, keys) == expected == dask.get(DSK, keys)


def test_a_key_not_in_the_graph_raises_key_error():
    with pytest.raises(KeyError):
        graph_task(DSK, ["a", "missing"])


def test_a_deep_graph_survives_the_wire():
    depth = 5000
    dsk = {"k0": 0, **{f"k{i}": (add, f"k{i - 1}", 1) for i in range(1, depth)}}
    assert _round_trip(dsk, f"k{depth - 1}") == depth - 1


@pytest.fixture
def pool(pool_server, request):
    pool = fs.connect(pool_server.url, pool_server.add_account(f"dask-{request.node.name[:30]}-{id(request)}"))
    yield pool
    pool.close()


def test_dask_compute_with_pool_get_sends_one_graph_job(pool):
    import dask.array as da

    x = da.arange(100, chunks=10).sum()
    (total,) = dask.compute(x, scheduler=pool.get, cpus=1, memory="500MB")
    assert total == 4950
    jobs = pool.client.jobs()
    assert [j["kind"] for j in jobs] == ["graph"] and jobs[0]["memory"] == 500 * 10**6


def test_pool_compute_and_as_default_run_collections_on_the_pool(pool):
    import dask.bag as db

    bag = db.from_sequence(range(10), npartitions=3).map(lambda v: v * 2)
    assert pool.compute(bag.sum()) == 90
    assert pool.compute(bag.sum(), bag.count()) == (90, 10)
    with pool.as_default():
        assert bag.max().compute() == 18
    assert [j["kind"] for j in pool.client.jobs()] == ["graph"] * 3


def _noisy(v):
    print("chunk", v)
    return v


def test_pool_compute_shows_what_the_graphs_tasks_print(pool, capsys):
    values = dask.delayed(sum)([dask.delayed(_noisy)(v) for v in range(3)])
    assert pool.compute(values) == 3
    assert sorted(capsys.readouterr().out.splitlines()) == ["chunk 0", "chunk 1", "chunk 2"]


def _warns(v):
    import warnings

    warnings.warn(f"value {v} is odd", RuntimeWarning, stacklevel=1)
    return v


def test_a_warning_a_graph_task_issues_is_issued_again_in_the_caller(pool):
    values = dask.delayed(sum)([dask.delayed(_warns)(v) for v in (1, 3)])
    with pytest.warns(RuntimeWarning, match=r"value \d is odd") as caught:
        assert dask.compute(values, scheduler=pool.get) == (4,)
    assert sorted(str(w.message) for w in caught if w.category is RuntimeWarning) == ["value 1 is odd",
                                                                                     "value 3 is odd"]
    assert all(w.filename.endswith("test_daskget.py") for w in caught if w.category is RuntimeWarning)
