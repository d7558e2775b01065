import pytest

from jupyter_fairshare.pool.policy.estimates import Release, RuntimeStats, walk


def d(job, cpus=1.0, seconds=10.0, rank=0):
    return (rank, 0.0, job, cpus, 0, 0, seconds, 0.5)


def test_runtime_stats_learn_an_accounts_overrun():
    stats = RuntimeStats()
    for _ in range(40):
        stats.observe("slow", 10.0, 20.0)
    assert stats.scale("slow") == pytest.approx(2.0, rel=0.01)
    assert stats.scale("unknown") == 1.0
    assert stats.cv("slow") < 0.05


def test_walk_starts_jobs_as_running_ones_end():
    running = [Release(5.0, 1.0, 0, 0, False, 0.5)]
    order, starts, spreads = walk(0.0, (2.0, 0, 0), running, [], [d("a"), d("b", rank=1), d("c", rank=2)], 0.0)
    assert [(demand[2], start) for demand, start in zip(order, starts, strict=True)] == [
        ("a", 0.0), ("b", 5.0), ("c", 10.0)
    ]
    assert spreads[0] == 0.0 and spreads[2] > 0.0


def test_walk_serves_newcomers_first_until_the_reserve_is_held():
    newcomers = [d("n1", rank=5), d("n2", rank=6), d("n3", rank=7)]
    order, _, _ = walk(0.0, (10.0, 0, 0), [], newcomers, [d("o1", rank=0)], 2.0)
    assert [demand[2] for demand in order] == ["n1", "n2", "o1", "n3"]
