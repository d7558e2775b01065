"""The README's first command ends in `fairshare demo`: the demo pool and JupyterLab on the demo notebook."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from jupyter_fairshare.demo.launch import stop_demo

ROOT = Path(__file__).parents[1]


def test_fairshare_demo_opens_jupyterlab_on_the_demo_notebook_with_the_demo_pool(tmp_path):
    env = {**os.environ, "FAIRSHARE_DEMO_DIR": str(tmp_path / "demo"), "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"), "FAIRSHARE_URL": "", "FAIRSHARE_TOKEN": ""}
    log = tmp_path / "demo.log"
    command = [sys.executable, "-m", "jupyter_fairshare.cli", "demo", "--no-browser", "--minutes", "2"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        deadline, url = time.monotonic() + 120, None
        while url is None and time.monotonic() < deadline and process.poll() is None:
            found = re.search(r"(http://(?:127\.0\.0\.1|localhost):\d+)/\S*\?token=(\w+)", log.read_text())
            url = found and (found.group(1), found.group(2))
            time.sleep(0.5)
        assert url, log.read_text()[-3000:]
        base, token = url
        status = {}
        while time.monotonic() < deadline and status.get("state") != "ready":
            status = httpx.get(f"{base}/fairshare/api/status", params={"token": token}).json()
            time.sleep(0.5)
        assert status["state"] == "ready" and not status["embedded"]
        account = httpx.get(f"{base}/fairshare/api/account", params={"token": token}).json()
        assert account["tier"] == "newcomer"
        sites = {s["name"] for s in httpx.get(f"{base}/fairshare/api/pool", params={"token": token}).json()["sites"]}
        assert sites == {"hydro", "grid"}
        landing = httpx.get(f"{base}/", params={"token": token}, follow_redirects=False)
        assert landing.headers["location"].split("?")[0].endswith("/lab/tree/examples/00-start-here.ipynb")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        stop_demo(tmp_path / "demo")
