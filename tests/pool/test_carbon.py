"""A job with a deadline waits for a greener window when the forecast shows one in time."""

from __future__ import annotations

from jupyter_fairshare.pool.carbon import greener_start
from jupyter_fairshare.pool.sites import ConstantCarbon, SeriesCarbon, Site


def series(*points):
    return Site("s", SeriesCarbon(tuple(t for t, _ in points), tuple(v for _, v in points)))


def test_a_cleaner_moment_before_the_latest_start_is_chosen():
    site = series((0, 400), (100, 300), (200, 50), (300, 500))
    assert greener_start([site], now=10, latest=250) == (200, 50, 400)


def test_no_wait_when_the_clean_window_comes_too_late_or_gains_too_little():
    assert greener_start([series((0, 400), (500, 50))], now=10, latest=250) is None
    assert greener_start([series((0, 400), (100, 390))], now=10, latest=250) is None


def test_a_clean_site_now_beats_waiting_for_another_to_get_cleaner():
    now_clean = Site("hydro", ConstantCarbon(40))
    assert greener_start([now_clean, series((0, 400), (100, 60))], now=10, latest=250) is None


CLEAN_AFTER = 15.0


def test_a_deadline_job_waits_for_the_forecast_greener_window_and_its_bill_shows_it(tmp_path):
    import signal
    import time

    from tests.conftest import start_pool, submit, wait_for

    now = time.time()
    # The clean window opens CLEAN_AFTER s from now: long enough that the pool's start-up and the
    # eager job (several seconds on a loaded machine) end before it.
    clean_at = now + CLEAN_AFTER
    forecast = tmp_path / "forecast.csv"
    forecast.write_text(f"timestamp,intensity\n{now - 60},400\n{clean_at},50\n")
    config = tmp_path / "pool.toml"
    config.write_text(f'[[sites]]\nname = "grid"\ncarbon = "csv:{forecast}"\nworkers = 1\n')
    pool = start_pool(tmp_path / "pool", config=config)
    try:
        with pool.client(pool.add_account("patient")) as client:
            eager = submit(client, abs, -1, wait=30).json()
            assert eager["state"] == "done" and eager["bill"]["carbon_intensity"] == 400
            patient = submit(client, abs, -2, deadline=600).json()
            assert patient["state"] == "queued"
            assert patient["greener_window"]["intensity_then"] == 50
            assert patient["expected_start"] == clean_at
            why = client.get(f"/api/v1/jobs/{patient['id']}/why").json()
            assert why["greener_window"]["intensity_now"] == 400
            done = wait_for(client, patient["id"], timeout=60)
            assert done["started_at"] >= clean_at and done["bill"]["carbon_intensity"] == 50
    finally:
        pool.kill(signal.SIGTERM)
