from jupyter_fairshare.pool.policy import reserve_active, reserve_target


def test_reserve_is_a_fraction_of_cpus():
    assert reserve_target(100.0, 0.2) == 20.0
    assert reserve_target(100.0, 1.5) == 100.0


def test_reserve_applies_only_while_newcomers_wait_below_the_floor():
    assert reserve_active(True, 19.0, 100.0, 0.2)
    assert not reserve_active(True, 20.0, 100.0, 0.2)
    assert not reserve_active(False, 0.0, 100.0, 0.2)
