from jupyter_fairshare.pool.policy import Node, RunningJob
from jupyter_fairshare.pool.policy.shadow import ShadowIndex, end_entry

GB = 10**9


def test_reservation_is_on_the_node_that_frees_up_first_and_tracks_changes():
    nodes = [Node("a", "s", 4, 8 * GB, 0), Node("b", "s", 4, 8 * GB, 0)]
    running = {
        "a": [end_entry(RunningJob("x", "u", "standard", 4, GB, 0, "a", 0.0, 100.0))],
        "b": [end_entry(RunningJob("y", "u", "standard", 4, GB, 0, "b", 0.0, 50.0))],
    }
    free = {"a": (0.0, 7 * GB, 0), "b": (0.0, 7 * GB, 0)}
    index = ShadowIndex()
    index.reset(nodes)
    res = index.reserve((2.0, GB, 0, None), 10.0, free, running)
    assert (res.node, res.shadow) == ("b", 50.0)
    assert res.extra[0] == 2.0
    running["b"] = sorted(
        end_entry(job)
        for job in (
            RunningJob("z", "u", "standard", 0, 0, 0, "b", 0.0, 500.0),
            RunningJob("y", "u", "standard", 4, GB, 0, "b", 0.0, 400.0),
        )
    )
    index.touch("b")
    res = index.reserve((2.0, GB, 0, None), 10.0, free, running)
    assert (res.node, res.shadow) == ("a", 100.0)
    assert index.reserve((2.0, GB, 0, None), 150.0, free, running).shadow == 150.0
    assert index.reserve((8.0, GB, 0, None), 10.0, free, running) is None
