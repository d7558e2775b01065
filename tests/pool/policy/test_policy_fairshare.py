import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_fairshare.pool.policy import (
    PolicyConfig,
    age_factor,
    billing_units,
    components,
    decay,
    fairshare_factor,
)


def test_decay_halves_usage_every_half_life():
    assert decay(100.0, 0.0, 7 * 86400.0, 7 * 86400.0) == pytest.approx(50.0)
    assert decay(100.0, 10.0, 10.0, 60.0) == 100.0


@given(st.floats(0, 1e6), st.floats(0, 1e5), st.floats(0, 1e5), st.floats(1, 1e6))
@settings(max_examples=50)
def test_decay_composes(usage, a, b, half_life):
    once = decay(usage, 0.0, a + b, half_life)
    twice = decay(decay(usage, 0.0, a, half_life), a, a + b, half_life)
    assert once == pytest.approx(twice, rel=1e-9, abs=1e-9)


def test_billing_units_weigh_cpu_memory_and_gpu():
    cfg = PolicyConfig()
    assert billing_units(2, 4 * 10**9, 1, 10.0, cfg) == pytest.approx(10 * (2 * 1.0 + 4 * 0.25 + 20.0))


def test_fairshare_factor_is_one_unused_and_half_at_exact_share():
    assert fairshare_factor(0.0, 1.0, 100.0, 4.0) == 1.0
    assert fairshare_factor(25.0, 1.0, 100.0, 4.0) == pytest.approx(0.5)
    assert fairshare_factor(50.0, 1.0, 100.0, 4.0) == pytest.approx(0.25)


def test_more_shares_means_higher_factor_for_same_usage():
    assert fairshare_factor(10.0, 2.0, 100.0, 4.0) > fairshare_factor(10.0, 1.0, 100.0, 4.0)


def test_age_saturates_at_max_age():
    assert age_factor(0.0, 100.0) == 0.0
    assert age_factor(50.0, 100.0) == 0.5
    assert age_factor(1e9, 100.0) == 1.0


def test_components_sum_to_priority():
    cfg = PolicyConfig()
    parts = components(0.5, cfg.max_age / 2, True, cfg)
    assert parts["fairshare"] == 500.0 and parts["age"] == 50.0
    assert parts["priority"] == pytest.approx(parts["fairshare"] + parts["age"] + parts["reserve"])
    assert components(0.5, 0.0, False, cfg)["reserve"] == 0.0
    assert not math.isnan(parts["priority"])
