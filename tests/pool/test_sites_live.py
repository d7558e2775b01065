"""A pool with several sites: carbon-aware placement, site requests, joining nodes, limits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from jupyter_fairshare import wire
from tests.conftest import start_pool, submit, wait_for

CONFIG = """
payload_limit = "100KB"
[[sites]]
name = "green"
carbon = "50"
workers = 1
[[sites]]
name = "grey"
carbon = "400"
workers = 1
[[sites]]
name = "community"
carbon = "120"
workers = 0
"""


def where():
    return "ran"


@pytest.fixture(scope="module")
def sites_pool(tmp_path_factory):
    directory = tmp_path_factory.mktemp("sites")
    config = directory / "pool.toml"
    config.write_text(CONFIG)
    pool = start_pool(directory, config=config)
    yield pool
    pool.kill(signal.SIGTERM)


@pytest.fixture
def client(sites_pool):
    with sites_pool.client(sites_pool.add_account(f"u{time.monotonic_ns()}")) as client:
        yield client


def test_a_job_goes_to_the_site_with_the_lowest_carbon_intensity_that_has_room(client):
    # Long enough to still run when wait_for's one-second long poll answers: green stays full.
    first = submit(client, time.sleep, 3.0).json()
    assert wait_for(client, first["id"], states=("running",))["site"] == "green"
    second = submit(client, where, wait=30).json()
    assert second["site"] == "grey" and second["bill"]["carbon_intensity"] == 400
    assert wait_for(client, first["id"])["bill"]["carbon_intensity"] == 50


def test_a_requested_site_is_honoured_and_an_unknown_one_refused(client):
    job = submit(client, where, site="grey", wait=30).json()
    assert job["site"] == "grey" and job["state"] == "done"
    refused = submit(client, where, site="mars")
    assert refused.status_code == 422 and "green, grey, community" in refused.json()["detail"]


def test_a_payload_over_the_limit_is_refused_with_the_limit_and_the_size(client):
    response = client.post("/api/v1/jobs", content=wire.dumps(wire.CallTask(len, (b"x" * 200_000,))),
                           headers={"Fairshare-Job": "{}"})
    assert response.status_code == 413
    body = response.json()
    assert body["limit"] == 100_000 and body["size"] > 200_000
    assert "100.0 KB" in body["detail"]


def test_a_community_node_joins_a_site_with_one_command_and_runs_its_jobs(sites_pool, client):
    node = subprocess.Popen(
        [sys.executable, "-m", "jupyter_fairshare.cli", "node", "join", sites_pool.url, "--site", "community",
         "--cpus", "1", "--memory", "1GB", "--token", sites_pool.admin_token],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        assert _site_once_it_has(sites_pool, "community", workers=1)["cpus"] == 1
        job = submit(client, where, site="community", memory="500MB", wait=60).json()
        assert job["state"] == "done" and job["site"] == "community"
        assert job["bill"]["carbon_intensity"] == 120
    finally:
        os.killpg(node.pid, signal.SIGTERM)
        node.wait(timeout=30)
    assert _site_once_it_has(sites_pool, "community", workers=0)["workers"] == 0


def _site_once_it_has(pool, name: str, workers: int, timeout: float = 60) -> dict:
    """The public view of a site, once it shows ``workers`` workers (or at the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        site = {s["name"]: s for s in httpx.get(f"{pool.url}/api/v1/public/sites").json()["sites"]}[name]
        if site["workers"] == workers or time.monotonic() > deadline:
            return site
        time.sleep(0.3)


def test_joining_without_an_operator_token_is_refused(sites_pool, client):
    token = client.headers["Authorization"].split()[1]
    result = subprocess.run([sys.executable, "-m", "jupyter_fairshare.cli", "node", "join", sites_pool.url,
                             "--site", "community", "--token", token], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "admin token" in result.stderr


def test_reservations_are_a_public_record(sites_pool):
    result = subprocess.run(
        [sys.executable, "-m", "jupyter_fairshare.cli", "admin", "--db", sites_pool.db, "reservation", "add",
         "climate-lab", "--site", "green", "--cpus", "1", "--from", "2026-12-01T09:00", "--until",
         "2026-12-01T17:00", "--reason", "course exam"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    record = httpx.get(f"{sites_pool.url}/api/v1/public/reservations").json()["reservations"]
    assert [(r["holder"], r["site"], r["cpus"], r["reason"]) for r in record] == [
        ("climate-lab", "green", 1.0, "course exam")]
