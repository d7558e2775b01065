"""A real JupyterLab and a real headless Chromium, for the sidebar's browser tests and benchmark.

Chromium is Debian's (``/usr/bin/chromium``), driven by Playwright; no browser is downloaded.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import nbformat

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_notebook(path: Path, cells: list[str]) -> None:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)


@contextmanager
def jupyterlab(root: Path, pool_url: str, token: str, log: Path):
    """JupyterLab on loopback serving ``root``, its fair-share extension pointed at the pool."""
    port, secret = free_port(), "e2e-" + str(time.monotonic_ns())
    labconfig = root / ".jupyter-config" / "labconfig"
    labconfig.mkdir(parents=True, exist_ok=True)
    # no "get Jupyter news?" prompt over the screenshots
    (labconfig / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    env = {**os.environ, "FAIRSHARE_URL": pool_url, "FAIRSHARE_TOKEN": token,
           "JUPYTER_CONFIG_DIR": str(root / ".jupyter-config"), "JUPYTER_RUNTIME_DIR": str(root / ".runtime")}
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
               f"--IdentityProvider.token={secret}", f"--ServerApp.root_dir={root}",
               "--LabApp.news_url=", "--allow-root", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    process = subprocess.Popen(command, stdout=open(log, "ab"), stderr=subprocess.STDOUT, env=env,
                               start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/fairshare/api/status", params={"token": secret}, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"JupyterLab did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield url, secret
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


@contextmanager
def browser():
    """A headless Debian Chromium page, 1400x900."""
    from playwright.sync_api import sync_playwright

    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing; install Debian's chromium (.ci/run does).")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = instance.new_page(viewport={"width": 1400, "height": 900})
            yield page
        finally:
            instance.close()


def open_sidebar(page) -> None:
    page.click('[data-id="jupyter-fairshare:sidebar"]')
    page.wait_for_selector('[data-testid="fairshare-sidebar"]')


def dump(value) -> str:
    return json.dumps(value, indent=1)
