"""The demo pool a newcomer meets first: two different sites, busy neighbours, and the reserve.

One real demo (pool process, workers, load generator) serves the module; every assertion
reads the pool's public views or the newcomer's own API, as a visitor would.
"""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest

from jupyter_fairshare import demo
from jupyter_fairshare.demo import launch
from jupyter_fairshare.notebook.api import Pool


@pytest.fixture(scope="module")
def running_demo(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("demo")
    url, token = demo.ensure_demo(data_dir, minutes=5)
    yield data_dir, url, token
    demo.stop_demo(data_dir)


def _public(url: str, view: str) -> dict:
    return httpx.get(f"{url}/api/v1/public/{view}", timeout=30).json()


def _eventually(check, timeout: float = 60.0, what: str = "condition"):
    """Poll ``check`` until it returns something truthy; the demo's load is asynchronous."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(0.5)


def test_the_demo_has_a_clean_dear_site_and_a_dirty_cheap_one(running_demo):
    _, url, _ = running_demo
    sites = {s["name"]: s for s in _public(url, "sites")["sites"]}
    assert set(sites) == {"hydro", "grid"}
    assert sites["hydro"]["carbon_intensity"] < sites["grid"]["carbon_intensity"]
    assert all(s["workers"] == 1 for s in sites.values())
    prices = {p["site"]: p for p in _public(url, "prices")["sites"]}
    assert prices["hydro"]["cpu_second"] > prices["grid"]["cpu_second"]
    energy = {name: p["breakdown"]["cpu_second"]["energy"] for name, p in prices.items()}
    assert energy["hydro"] > energy["grid"]


def test_the_visitor_is_a_newcomer_with_credits(running_demo):
    _, url, token = running_demo
    account = httpx.get(f"{url}/api/v1/account", headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
    assert account["name"] == demo.USER.name
    assert account["tier"] == "newcomer" and account["balance"] > 0


def test_simulated_accounts_keep_a_queue_waiting(running_demo):
    _, url, _ = running_demo
    queue = _eventually(lambda: [r for r in _public(url, "queue")["queue"] if r["tier"] == "standard"][2:],
                        what="three standard jobs queued")
    assert queue
    stats = _eventually(lambda: _public(url, "stats")["windows"]["1h"]["acceptance"].get("standard"),
                        what="standard jobs in the published stats")
    assert stats["accepted"] >= sum(a.depth for a in demo.SIMULATED)


def test_distinct_shares_give_distinct_fairshare_standings(running_demo):
    _, url, _ = running_demo

    def factors():
        rows = [r for r in _public(url, "queue")["queue"] if r["tier"] == "standard"]
        found = {round(r["components"]["fairshare"], 3) for r in rows}
        return found if len(found) >= 2 else None

    assert len(_eventually(factors, what="two accounts with different fair-share factors queued")) >= 2


def test_a_newcomer_job_goes_ahead_of_the_queue(running_demo):
    _, url, token = running_demo
    _eventually(lambda: len(_public(url, "queue")["queue"]) >= 3, what="a queue of three")
    with Pool(url, token) as pool:
        # A worker may free up just as the job arrives and start it at once; try again then.
        for _ in range(5):
            job = pool.submit(time.sleep, 0.5, name="a newcomer's first job")
            if job.status == "queued":
                break
            job.wait(60)
        assert job.status == "queued"
        why = pool.client.why(job.id)
        assert why["position"] == 1 and why["queue_length"] >= 3
        assert why["components"]["reserve"] > 0
        assert job.result(timeout=60) is None
        assert job.bill["site"] in {"hydro", "grid"} and job.bill["co2e_g"] > 0


def test_ensure_demo_reuses_a_running_demo(running_demo):
    data_dir, url, token = running_demo
    assert demo.ensure_demo(data_dir) == (url, token)


def test_the_command_prints_export_lines_for_a_shell(running_demo):
    data_dir, url, token = running_demo
    out = subprocess.run([sys.executable, "-m", "jupyter_fairshare.demo", "status", "--data-dir", str(data_dir)],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    assert out == f"export FAIRSHARE_URL={url}\nexport FAIRSHARE_TOKEN={token}\n"


def test_stopping_the_demo_ends_its_pool_and_load(tmp_path):
    url, _ = demo.ensure_demo(tmp_path, minutes=1)
    state = launch.read_state(tmp_path)
    assert demo.stop_demo(tmp_path)
    _eventually(lambda: not launch._alive(state["load_pid"]), what="the load generator exiting")
    assert not launch._alive(state["pool_pid"])
    assert demo.running(tmp_path) is None
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{url}/api/v1/health", timeout=2)
