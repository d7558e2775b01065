"""The embedded pool starts on demand, is shared, and is reused rather than duplicated."""

from __future__ import annotations

import json
import os
import time

import httpx

from jupyter_fairshare.pool import embedded


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
