import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_fairshare.pool.policy import (
    AccountState,
    Node,
    PolicyConfig,
    QueuedJob,
    Submission,
    jain_index,
    simulate,
)

GB = 10**9
CFG = PolicyConfig(half_life=3600.0, max_age=1800.0)
FEW = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def backlog(name, n, tier="standard", cpus=1, seconds=60.0, t=0.0, runtime=None):
    return [
        Submission(QueuedJob(f"{name}-{k}", name, tier, cpus, GB, 0, t, expected_seconds=seconds), runtime or seconds)
        for k in range(n)
    ]


def test_jain_index_extremes():
    assert jain_index([3.0, 3.0, 3.0]) == 1.0
    assert jain_index([1.0, 0.0, 0.0, 0.0]) == 0.25


@given(accounts=st.integers(2, 6), nodes=st.integers(1, 4), seed=st.integers(0, 10**6))
@FEW
def test_equal_accounts_saturating_the_pool_get_equal_service(accounts, nodes, seed):
    rng = random.Random(seed)
    work = []
    for a in range(accounts):
        work += backlog(f"acct{a}", 300, seconds=rng.choice((30.0, 60.0)), runtime=None)
    result = simulate(CFG, [Node(f"n{i}", "s", 4, 64 * GB, 0) for i in range(nodes)], work)
    end = min(max(r.end for r in result.runs.values() if r.job.account == f"acct{a}") for a in range(accounts))
    window = (300.0, 300.0 + 0.6 * (end - 300.0))
    service = result.service(*window)
    values = [service.get(f"acct{a}", 0.0) for a in range(accounts)]
    assert max(values) <= 1.05 * min(values)
    assert jain_index(values) >= 0.99
    assert result.utilisation(*window) > 0.98


@given(standard=st.integers(4, 9), cpus=st.sampled_from([10, 20, 40]), seed=st.integers(0, 10**6))
@FEW
def test_newcomer_reserve_is_met_while_newcomers_wait(standard, cpus, seed):
    rng = random.Random(seed)
    work = backlog("fresh", 800, tier="newcomer", seconds=60.0)
    for a in range(standard):
        work += backlog(f"std{a}", 800, seconds=rng.choice((40.0, 60.0, 90.0)))
    result = simulate(CFG, [Node("n", "s", cpus, 256 * GB, 0)], work, until=4000.0)
    window = (600.0, 3600.0)
    by_tier = result.service(*window, key="tier")
    share = by_tier["newcomer"] / sum(by_tier.values())
    assert abs(share - CFG.newcomer_reserve) <= 0.02
    assert result.utilisation(*window) >= 0.98


def test_reserve_is_lent_when_no_newcomer_waits():
    work = []
    for a in range(5):
        work += backlog(f"std{a}", 200)
    result = simulate(CFG, [Node("n", "s", 10, 64 * GB, 0)], work)
    assert result.utilisation(0.0, 3000.0) > 0.99


@given(seed=st.integers(0, 10**6))
@FEW
def test_nobody_starves(seed):
    rng = random.Random(seed)
    work = []
    for k in range(300):
        account = rng.choice(["heavy"] * 6 + ["mid", "mid", "light", "fresh"])
        tier = "newcomer" if account == "fresh" else "standard"
        cpus = rng.choice((1, 1, 2, 4, 8))
        seconds = rng.choice((10.0, 60.0, 300.0))
        job = QueuedJob(f"j{k}", account, tier, cpus, GB, 0, rng.uniform(0, 2000), expected_seconds=seconds)
        work.append(Submission(job, seconds * rng.uniform(0.5, 1.2)))
    result = simulate(CFG, [Node("a", "s", 8, 64 * GB, 0), Node("b", "s", 8, 64 * GB, 0)], work)
    assert not result.unstarted
    total = sum(s.job.cpus * s.runtime for s in work)
    bound = total / 16 + 2 * 300.0
    assert max(result.waits().values()) <= bound


def test_light_user_behind_a_heavy_backlog_starts_within_one_job_length():
    work = backlog("heavy", 500, seconds=120.0)
    light = Submission(QueuedJob("light-0", "light", "standard", 1, GB, 0, 1000.0, expected_seconds=120.0), 120.0)
    result = simulate(
        CFG, [Node("n", "s", 8, 64 * GB, 0)], work + [light], accounts=[AccountState("heavy", "standard", 1.0, 0.0)]
    )
    assert result.waits()["light-0"] <= 120.0
