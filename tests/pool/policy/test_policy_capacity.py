from jupyter_fairshare.pool.policy import Node, QueuedJob, RunningJob, SiteState
from jupyter_fairshare.pool.policy.capacity import Capacity

GB = 10**9
SITES = {"green": SiteState("green", 50.0, 1.0), "grey": SiteState("grey", 400.0, 1.0)}


def running(job_id: str, node: str, cpus: float, seconds: float = 100.0) -> RunningJob:
    return RunningJob(job_id, "u", "standard", cpus, GB, 0, node, 0.0, seconds)


def queued(job_id: str, cpus: float, seconds: float = 60.0) -> QueuedJob:
    return QueuedJob(job_id, "u", "standard", cpus, GB, 0, 0.0, None, seconds)


def test_open_nodes_are_in_placement_order_and_leave_when_full():
    nodes = Capacity()
    nodes.set_nodes([Node("a", "grey", 4, 8 * GB, 0), Node("b", "green", 4, 8 * GB, 0)], SITES)
    assert [n.name for n in nodes.open] == ["b", "a"]
    assert nodes.total == (8, 16 * GB, 0)
    nodes.hold(running("x", "b", 4))
    assert [n.name for n in nodes.open] == ["a"]
    assert nodes.free["b"] == (0, 7 * GB, 0)
    nodes.release(running("x", "b", 4))
    assert [n.name for n in nodes.open] == ["b", "a"]
    assert nodes.free["b"] == (4, 8 * GB, 0)


def test_a_node_that_comes_back_is_not_free_under_the_jobs_still_running_on_it():
    nodes = Capacity()
    node = Node("a", "green", 4, 8 * GB, 0)
    nodes.set_nodes([node], SITES)
    nodes.hold(running("x", "a", 3))
    nodes.set_nodes([], SITES)
    assert nodes.open == [] and nodes.total == (0, 0, 0)
    nodes.set_nodes([node], SITES)
    assert nodes.free["a"] == (1, 7 * GB, 0)


def test_a_lower_job_backfills_the_reserved_node_only_if_it_ends_before_the_reserved_start():
    nodes = Capacity()
    node = Node("a", "green", 4, 8 * GB, 0)
    nodes.set_nodes([node], SITES)
    nodes.hold(running("x", "a", 3, seconds=100.0))
    reservation = nodes.reserve(queued("big", 4), now=0.0)
    assert reservation is not None and (reservation.node, reservation.shadow) == ("a", 100.0)
    assert nodes.backfill(queued("short", 1, seconds=50.0), node, reservation, now=0.0) is node
    assert nodes.backfill(queued("long", 1, seconds=500.0), node, reservation, now=0.0) is None


def test_whether_a_job_fits_somewhere_is_judged_on_whole_nodes():
    nodes = Capacity()
    nodes.set_nodes([Node("a", "green", 4, 8 * GB, 0)], SITES)
    nodes.hold(running("x", "a", 4))
    assert nodes.fits_somewhere(queued("fits-later", 4), "shape-4")
    assert not nodes.fits_somewhere(queued("never", 8), "shape-8")
