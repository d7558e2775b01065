from jupyter_fairshare.pool.policy import (
    Node,
    QueuedJob,
    SiteState,
    fits_somewhere,
    place,
)

GB = 10**9
SITES = {
    "green": SiteState("green", 50.0, 2.0),
    "grey": SiteState("grey", 400.0, 1.0),
    "cheap": SiteState("cheap", 50.0, 1.0),
}
NODES = [Node("a", "grey", 8, 32 * GB, 0), Node("b", "green", 8, 32 * GB, 1), Node("c", "cheap", 4, 16 * GB, 0)]


def job(cpus=1, memory=GB, gpus=0, site=None):
    return QueuedJob("j", "acct", "standard", cpus, memory, gpus, 0.0, site=site)


def full_free():
    return {n.name: (n.cpus, n.memory, n.gpus) for n in NODES}


def test_lowest_carbon_then_lowest_price_wins():
    assert place(job(), full_free(), NODES, SITES).name == "c"


def test_node_without_room_is_skipped():
    free = full_free()
    free["c"] = (0.5, 16 * GB, 0)
    assert place(job(), free, NODES, SITES).name == "b"


def test_every_resource_must_fit():
    assert place(job(gpus=1), full_free(), NODES, SITES).name == "b"
    assert place(job(memory=20 * GB), full_free(), NODES, SITES).name == "b"
    assert place(job(cpus=9), full_free(), NODES, SITES) is None


def test_requested_site_is_respected():
    assert place(job(site="grey"), full_free(), NODES, SITES).name == "a"
    assert place(job(site="nowhere"), full_free(), NODES, SITES) is None


def test_fits_somewhere_looks_at_capacity_not_free_room():
    assert fits_somewhere(job(cpus=8, gpus=1), NODES)
    assert not fits_somewhere(job(cpus=8, gpus=2), NODES)
    assert not fits_somewhere(job(cpus=8, site="cheap"), NODES)


def test_first_fit_tries_the_preferred_node_first_and_falls_back_to_the_order():
    from jupyter_fairshare.pool.policy.placement import first_fit, order_nodes

    ordered = order_nodes(NODES, SITES)
    free = full_free()
    assert first_fit(job(), ordered, free, prefer="a").name == "a"
    free["a"] = (0.0, 32 * GB, 0)
    assert first_fit(job(), ordered, free, prefer="a").name == "c"
    assert first_fit(job(), ordered, full_free(), prefer="gone").name == "c"
