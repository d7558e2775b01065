import pytest

from jupyter_fairshare.pool.policy import (
    AccountState,
    Node,
    PolicyConfig,
    QueuedJob,
    RunningJob,
    Scheduler,
    SiteState,
    place,
)

GB = 10**9
SITES = {"s": SiteState("s", 100.0, 1.0), "t": SiteState("t", 50.0, 1.0)}


def make(nodes, **cfg):
    sched = Scheduler(PolicyConfig(**cfg))
    sched.set_nodes(nodes, SITES)
    return sched


def q(job_id, account, t=0.0, cpus=1, tier="standard", seconds=60.0, memory=GB, site=None):
    return QueuedJob(job_id, account, tier, cpus, memory, 0, t, site=site, expected_seconds=seconds)


def test_lower_usage_account_goes_first():
    sched = make([Node("n", "s", 1, 8 * GB, 0)])
    sched.set_account(AccountState("heavy", "standard", 1.0, 1000.0), 0.0)
    sched.set_account(AccountState("light", "standard", 1.0, 10.0), 0.0)
    sched.enqueue(q("h1", "heavy", t=0.0))
    sched.enqueue(q("l1", "light", t=5.0))
    assert [s.job for s in sched.decide(10.0)] == ["l1"]
    assert sched.running_count == 1 and sched.queued_count == 1


def test_ties_break_by_submission_then_id():
    sched = make([Node("n", "s", 3, 8 * GB, 0)])
    for job_id, t in (("b", 1.0), ("a", 1.0), ("c", 0.5)):
        sched.enqueue(q(job_id, "x" + job_id, t=t))
    assert [s.job for s in sched.decide(2.0)] == ["c", "a", "b"]


def test_age_term_lets_an_old_job_overtake_a_slightly_better_account():
    sched = make([Node("n", "s", 1, 8 * GB, 0)], max_age=100.0, half_life=1e6)
    sched.set_account(AccountState("a", "standard", 1.0, 1.0), 0.0)
    sched.set_account(AccountState("b", "standard", 1.0, 1.05), 0.0)
    sched.enqueue(q("young", "a", t=1000.0))
    sched.enqueue(q("old", "b", t=0.0))
    assert [s.job for s in sched.decide(1000.0)] == ["old"]


def test_running_jobs_count_so_equal_accounts_alternate():
    sched = make([Node("n", "s", 4, 8 * GB, 0)])
    for k in range(4):
        sched.enqueue(q(f"a{k}", "a", t=0.0))
        sched.enqueue(q(f"b{k}", "b", t=1.0))
    started = [s.job[0] for s in sched.decide(2.0)]
    assert sorted(started) == ["a", "a", "b", "b"]


def test_placement_matches_place_and_updates_free_room():
    nodes = [Node("grey", "s", 2, 8 * GB, 0), Node("green", "t", 1, 8 * GB, 0)]
    sched = make(nodes)
    sched.enqueue(q("j1", "a", t=0.0))
    sched.enqueue(q("j2", "b", t=1.0))
    first = sched.decide(2.0)
    expected = place(q("j1", "a"), {n.name: (n.cpus, n.memory, n.gpus) for n in nodes}, nodes, SITES)
    assert first[0].node == expected.name == "green"
    assert [(s.job, s.node, s.site) for s in first] == [("j1", "green", "t"), ("j2", "grey", "s")]


def test_job_that_does_not_fit_now_lets_smaller_ones_past_but_keeps_its_reservation():
    sched = make([Node("n", "s", 4, 8 * GB, 0)])
    sched.mark_running(RunningJob("r", "z", "standard", 2, GB, 0, "n", 0.0, expected_seconds=100.0))
    sched.enqueue(q("big", "a", t=0.0, cpus=4))
    sched.enqueue(q("short", "b", t=1.0, seconds=50.0))
    sched.enqueue(q("long", "c", t=2.0, seconds=500.0))
    assert [s.job for s in sched.decide(10.0)] == ["short"]
    sched.finished("r", 200.0, 100.0)
    sched.finished("short", 50.0, 60.0)
    assert [s.job for s in sched.decide(100.0)] == ["big"]


def test_reserve_puts_newcomers_first_until_they_hold_it():
    sched = make([Node("n", "s", 10, 64 * GB, 0)], newcomer_reserve=0.2)
    sched.set_account(AccountState("new", "newcomer", 1.0, 1e6), 0.0)
    sched.set_account(AccountState("old", "standard", 1.0, 0.0), 0.0)
    for k in range(20):
        sched.enqueue(q(f"o{k}", "old", t=0.0))
        sched.enqueue(q(f"n{k}", "new", t=0.0, tier="newcomer"))
    started = [s.job for s in sched.decide(1.0)]
    assert started[:2] == ["n0", "n1"] and all(j.startswith("o") for j in started[2:])
    assert sched.newcomer_cpus == 2.0


def test_reserve_is_lent_when_no_newcomer_waits():
    sched = make([Node("n", "s", 10, 64 * GB, 0)])
    for k in range(12):
        sched.enqueue(q(f"o{k}", "old", t=0.0))
    assert len(sched.decide(1.0)) == 10


def test_vanished_node_keeps_its_running_jobs_until_finished():
    sched = make([Node("n", "s", 1, 8 * GB, 0)])
    sched.enqueue(q("j", "a"))
    sched.decide(1.0)
    sched.set_nodes([Node("m", "s", 1, 8 * GB, 0)], SITES)
    assert sched.running_count == 1
    sched.set_nodes([Node("n", "s", 1, 8 * GB, 0)], SITES)
    sched.enqueue(q("k", "b", t=2.0))
    assert sched.decide(3.0) == []
    sched.finished("j", 1.0, 4.0)
    assert [s.job for s in sched.decide(4.0)] == ["k"]


def test_remove_cancels_a_queued_job_and_duplicates_are_refused():
    sched = make([Node("n", "s", 1, 8 * GB, 0)])
    sched.enqueue(q("j", "a"))
    with pytest.raises(ValueError, match="already known"):
        sched.enqueue(q("j", "a"))
    sched.remove("j")
    assert sched.queued_count == 0 and sched.decide(1.0) == []


def test_standing_reports_position_start_and_components():
    sched = make([Node("n", "s", 1, 8 * GB, 0)])
    sched.mark_running(RunningJob("r", "z", "standard", 1, GB, 0, "n", 0.0, expected_seconds=100.0))
    for k in range(3):
        sched.enqueue(q(f"j{k}", f"a{k}", t=float(k), seconds=60.0))
    st = sched.standing("j2", 10.0)
    assert st.position == 3 and st.queue_length == 3
    assert st.expected_start == pytest.approx(100.0 + 2 * 60.0)
    assert st.uncertainty > 0
    assert {"fairshare", "age", "reserve", "priority"} <= st.components.keys()
    why = sched.why("j2", 10.0, ahead=1)
    assert why["position"] == 3 and [a["position"] for a in why["ahead"]] == [2]
    view = sched.queue_view(10.0)
    assert [row["position"] for row in view] == [1, 2, 3] and "account" not in view[0]
    assert sched.standing("nope", 10.0) is None


def test_standings_follow_the_order_decide_uses():
    sched = make([Node("n", "s", 1, 8 * GB, 0)])
    sched.mark_running(RunningJob("r", "z", "standard", 1, GB, 0, "n", 0.0))
    sched.set_account(AccountState("a", "standard", 1.0, 500.0), 0.0)
    for k, acct in enumerate(["a", "b", "c", "a", "b"]):
        sched.enqueue(q(f"j{k}", acct, t=float(k)))
    order = sorted(sched.standings(10.0).values(), key=lambda s: s.position)
    sched.finished("r", 60.0, 60.0)
    assert sched.decide(60.0)[0].job == order[0].job


def test_sizes_set_aside_in_one_decision_come_back_in_the_next():
    # One decision sets aside the whole 4-CPU size (two shapes, two lengths) and the
    # 1-CPU jobs too long to end before the reservation; each must be back in later ones.
    sched = make([Node("n", "s", 4, 8 * GB, 0)])
    sched.mark_running(RunningJob("r", "z", "standard", 2, GB, 0, "n", 0.0, expected_seconds=100.0))
    sched.enqueue(q("big", "a", t=0.0, cpus=4, seconds=60.0))
    sched.enqueue(q("big-long", "b", t=0.5, cpus=4, seconds=600.0))
    sched.enqueue(q("short", "c", t=1.0, seconds=50.0))
    sched.enqueue(q("long", "d", t=2.0, seconds=500.0))
    assert [s.job for s in sched.decide(10.0)] == ["short"]
    sched.finished("short", 50.0, 60.0)
    sched.finished("r", 200.0, 100.0)
    assert [s.job for s in sched.decide(100.0)] == ["big"]
    sched.finished("big", 240.0, 160.0)
    assert [s.job for s in sched.decide(160.0)] == ["big-long"]
    sched.finished("big-long", 2400.0, 760.0)
    assert [s.job for s in sched.decide(760.0)] == ["long"]


def test_a_job_starts_on_the_node_its_affinity_names_when_it_has_room_and_elsewhere_rather_than_wait():
    nodes = [Node("first", "s", 1, 8 * GB, 0), Node("second", "s", 1, 8 * GB, 0)]
    sched = make(nodes)
    sched.set_affinity(lambda job_id: "second" if job_id.startswith("cell") else None)
    sched.enqueue(q("cell-1", "a", t=0.0))
    assert [(s.job, s.node) for s in sched.decide(1.0)] == [("cell-1", "second")]  # not the first in order
    sched.enqueue(q("cell-2", "a", t=2.0))
    assert [(s.job, s.node) for s in sched.decide(3.0)] == [("cell-2", "first")]  # "second" is busy: no wait
    sched.enqueue(q("other", "b", t=4.0))
    assert sched.decide(5.0) == []  # both nodes are busy; an unknown preference changes nothing


def test_an_affinity_for_a_node_at_another_site_than_the_job_asks_for_is_ignored():
    nodes = [Node("grey", "s", 1, 8 * GB, 0), Node("green", "t", 1, 8 * GB, 0)]
    sched = make(nodes)
    sched.set_affinity(lambda job_id: "green")
    sched.enqueue(q("j", "a", site="s"))
    assert [s.node for s in sched.decide(1.0)] == ["grey"]
