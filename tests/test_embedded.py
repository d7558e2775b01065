"""The embedded pool starts on demand, is shared, and is reused rather than duplicated."""

from __future__ import annotations

import json
import os
import time

import httpx

from jupyter_fairshare import embedded


def test_the_embedded_pool_starts_once_and_is_reused(tmp_path):
    try:
        url, token = embedded.ensure_running(tmp_path, workers=1)
        pid = json.loads(embedded.state_path(tmp_path).read_text())["pid"]
        assert embedded.ensure_running(tmp_path) == (url, token)
        assert json.loads(embedded.state_path(tmp_path).read_text())["pid"] == pid
        account = httpx.get(f"{url}/api/v1/account", headers={"Authorization": f"Bearer {token}"}).json()
        assert account["name"] == "demo" and account["tier"] == "newcomer" and account["credits"] > 0
        assert oct(os.stat(embedded.state_path(tmp_path)).st_mode & 0o777) == "0o600"
    finally:
        assert embedded.stop(tmp_path)
    deadline = time.monotonic() + 30
    while embedded.running(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert embedded.running(tmp_path) is None


def test_an_embedded_pool_that_died_comes_back_on_its_store_with_the_same_token(tmp_path):
    import signal

    try:
        url, token = embedded.ensure_running(tmp_path, workers=1)
        pid = json.loads(embedded.state_path(tmp_path).read_text())["pid"]
        os.killpg(pid, signal.SIGKILL)  # a crash, or the laptop's reboot
        deadline = time.monotonic() + 30
        while embedded.running(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.2)
        _, again = embedded.ensure_running(tmp_path, workers=1)
        assert again == token
        account = httpx.get(f"{embedded.running(tmp_path)[0]}/api/v1/account",
                            headers={"Authorization": f"Bearer {again}"})
        assert account.status_code == 200 and account.json()["name"] == "demo"
    finally:
        embedded.stop(tmp_path)


def test_the_launcher_defaults_to_the_pools_own_data_directory(monkeypatch, tmp_path):
    from jupyter_fairshare.pool.config import default_data_dir

    monkeypatch.delenv("FAIRSHARE_DATA_DIR", raising=False)
    assert embedded.default_data_dir() == default_data_dir()
    monkeypatch.setenv("FAIRSHARE_DATA_DIR", str(tmp_path))
    assert embedded.default_data_dir() == default_data_dir() == tmp_path


def test_the_launcher_loads_no_pool_module():
    import subprocess
    import sys

    code = ("import sys, jupyter_fairshare.embedded\n"
            "print([m for m in sys.modules if m.startswith('jupyter_fairshare.pool')])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"


def test_nothing_answering_at_a_state_files_url_is_not_a_running_pool(tmp_path):
    embedded.state_path(tmp_path).write_text(json.dumps({"url": "http://127.0.0.1:9", "token": "t", "pid": 1}))
    assert embedded.running(tmp_path) is None
