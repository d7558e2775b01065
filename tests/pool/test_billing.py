"""Prices come from their published breakdown; bills are itemised and capped."""

from __future__ import annotations

import pytest

from jupyter_fairshare.pool.billing import (
    PriceList,
    breakdown_from_costs,
    make_bill,
    time_limit,
)

PRICES = PriceList("here", 3, breakdown_from_costs(10.0, 0.4, 250.0))


def test_each_unit_price_is_the_sum_of_its_energy_hardware_and_operations():
    for key in ("cpu_second", "memory_gb_second", "gpu_second"):
        parts = PRICES.breakdown[key]
        assert set(parts) == {"energy", "hardware", "operations"}
        assert PRICES.unit(key) == pytest.approx(sum(parts.values()))
    assert PRICES.breakdown["cpu_second"]["energy"] == pytest.approx(10 / 3.6e6 * 0.30)


def test_a_bill_itemises_what_the_job_held_and_states_its_carbon():
    bill = make_bill(PRICES, cpus=2, memory=4 * 10**9, gpus=0, wall_seconds=10.0, cpu_seconds=15.0,
                     peak_memory=10**9, max_cost=100.0, energy_kwh=0.001, carbon_intensity=300.0)
    lines = {line["item"]: line for line in bill["lines"]}
    assert set(lines) == {"cpu", "memory"}
    assert lines["cpu"]["quantity"] == 20.0 and lines["memory"]["quantity"] == 40.0
    assert bill["total"] == pytest.approx(lines["cpu"]["amount"] + lines["memory"]["amount"])
    assert bill["co2e_g"] == pytest.approx(0.3) and bill["price_version"] == 3 and not bill["capped"]


def test_a_bill_never_exceeds_the_max_cost_and_the_time_limit_spends_exactly_it():
    limit = time_limit(0.01, PRICES, 1, 10**9, 0)
    assert limit * PRICES.rate(1, 10**9, 0) == pytest.approx(0.01)
    bill = make_bill(PRICES, cpus=1, memory=10**9, gpus=0, wall_seconds=limit * 2, cpu_seconds=0,
                     peak_memory=0, max_cost=0.01, energy_kwh=0, carbon_intensity=0)
    assert bill["total"] == 0.01 and bill["capped"]


def _billing_job(max_cost: float):
    from jupyter_fairshare.pool.live import LiveJob

    return LiveJob(id="j", account=1, account_name="a", tier="standard", name="", kind="call", cpus=1.0,
                   memory=10**9, gpus=0, max_cost=max_cost, hold=max_cost, submitted_at=0.0)


def test_the_wall_limit_is_the_max_cost_when_that_runs_out_first(tmp_path):
    from jupyter_fairshare.pool.billing import Billing
    from jupyter_fairshare.pool.config import PoolConfig
    from jupyter_fairshare.pool.store.db import open_engine
    from jupyter_fairshare.protocol import StopReason

    config = PoolConfig(db_url=f"sqlite:///{tmp_path / 'pool.db'}", data_dir=tmp_path, max_wall_seconds=3600.0)
    engine = open_engine(config.url)
    try:
        billing = Billing(engine, config)
        cheap = _billing_job(1e-6)
        seconds, reason = billing.wall_limit(cheap, "local")
        assert reason is StopReason.MAX_COST and seconds == pytest.approx(1e-6 / billing.rate(cheap, "local"))
        assert billing.wall_limit(_billing_job(1000.0), "local") == (3600.0, StopReason.TIME)
    finally:
        engine.dispose()


def test_a_new_price_version_is_published_only_when_a_sites_costs_change(tmp_path):
    from jupyter_fairshare.pool.billing import Billing
    from jupyter_fairshare.pool.config import PoolConfig, SiteConfig
    from jupyter_fairshare.pool.store.db import open_engine

    url = f"sqlite:///{tmp_path / 'pool.db'}"
    engine = open_engine(url)
    try:
        assert Billing(engine, PoolConfig(db_url=url, data_dir=tmp_path)).prices["local"].version == 1
        assert Billing(engine, PoolConfig(db_url=url, data_dir=tmp_path)).prices["local"].version == 1
        dearer = PoolConfig(db_url=url, data_dir=tmp_path, sites=[SiteConfig(electricity_per_kwh=0.9)])
        assert Billing(engine, dearer).prices["local"].version == 2
    finally:
        engine.dispose()
