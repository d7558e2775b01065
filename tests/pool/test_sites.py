"""Carbon intensity: a constant or a time series, read when the operator configures it."""

from __future__ import annotations

import pytest

from jupyter_fairshare.pool.config import parse_size
from jupyter_fairshare.pool.sites import Site, parse_carbon


def test_a_constant_and_a_csv_series_give_the_intensity_at_a_moment(tmp_path):
    assert parse_carbon("120").intensity(0) == 120
    series = tmp_path / "grid.csv"
    series.write_text("timestamp,intensity\n2026-01-01T00:00:00Z,300\n2026-01-01T01:00:00Z,80\n")
    source = parse_carbon(f"csv:{series}")
    one = 1767225600.0  # 2026-01-01T00:00:00Z
    assert source.intensity(one - 10) == 300
    assert source.intensity(one + 1800) == 300
    assert source.intensity(one + 3600) == 80


def test_bad_carbon_specs_fail_with_a_sentence_saying_what_to_write(tmp_path):
    with pytest.raises(ValueError, match="gCO2e/kWh"):
        parse_carbon("lots")
    with pytest.raises(ValueError, match="does not exist"):
        parse_carbon(f"csv:{tmp_path / 'missing.csv'}")


def test_energy_follows_the_sites_power_model():
    site = Site("x", parse_carbon("100"), watts_per_cpu=10, watts_per_gb=1, watts_per_gpu=0)
    assert site.energy_kwh(2, 10 * 10**9, 0, 3600) == pytest.approx(0.030)


def test_sizes_are_read_as_people_write_them():
    assert parse_size("2GB") == 2 * 10**9 and parse_size("512MiB") == 512 * 2**20 and parse_size(7) == 7
    with pytest.raises(ValueError, match="like 512MB"):
        parse_size("a lot")
