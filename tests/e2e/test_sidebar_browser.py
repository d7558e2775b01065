"""The sidebar in a real browser: a %%fairshare cell's job shows up live, and cancels from it."""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import submit, wait_for
from tests.e2e.lab import browser, jupyterlab, open_sidebar, write_notebook

ARTIFACTS = Path(os.environ.get("FAIRSHARE_ARTIFACTS", Path(__file__).parents[2] / "test-artifacts"))
CELLS = [
    "%load_ext jupyter_fairshare",
    "%%fairshare --name first-job\nimport time\ntime.sleep(2)\nanswer = 42",
    "%%fairshare --name second-job\nimport time\ntime.sleep(120)",
]


@pytest.fixture
def lab(pool_server, tmp_path):
    token = pool_server.add_account(f"browser-{time.monotonic_ns()}")
    write_notebook(tmp_path / "demo.ipynb", CELLS)
    with jupyterlab(tmp_path, pool_server.url, token, tmp_path / "lab.log") as (url, secret):
        yield url, secret, pool_server.client(token)


@contextmanager
def _screenshot_on_failure(page):
    try:
        yield
    except BaseException:
        page.screenshot(path=str(ARTIFACTS / "failure.png"))
        raise


def job_row(page, name: str):
    return page.locator('[data-testid="fairshare-job"]', has_text=name)


def test_a_cells_job_appears_with_its_position_then_its_cost_and_a_second_is_cancelled_from_the_sidebar(lab):
    url, secret, http = lab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with browser() as page, _screenshot_on_failure(page):
        page.goto(f"{url}/lab/tree/demo.ipynb?token={secret}")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        open_sidebar(page)
        page.wait_for_selector('[data-testid="fairshare-pool"]', timeout=60_000)

        page.get_by_text("| Idle").wait_for(timeout=60_000)  # the kernel is ready
        # The pool is full once the kernel is ready, not before: a slow kernel start must not
        # outlast the blockers, or the first cell's job never waits in the queue.
        blockers = [submit(http, time.sleep, 6.0).json() for _ in range(2)]
        page.click('.lm-MenuBar-itemLabel:text-is("Run")')
        page.click('.lm-Menu-itemLabel:text-is("Run All Cells")')

        first = job_row(page, "first-job")
        first.wait_for(timeout=60_000)
        position = first.locator('[data-testid="fairshare-job-position"]')
        position.wait_for(timeout=30_000)
        assert " of " in position.inner_text()
        page.screenshot(path=str(ARTIFACTS / "sidebar-queued.png"))

        first.locator('[data-testid="fairshare-job-state"]', has_text="done").wait_for(timeout=60_000)
        cost = first.locator('[data-testid="fairshare-job-cost"]').inner_text()
        assert any(ch.isdigit() for ch in cost)

        second = job_row(page, "second-job")
        second.locator('[data-testid="fairshare-job-state"]', has_text="running").wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "sidebar-running.png"))
        second.locator('[data-testid="fairshare-job-cancel"]').click()
        second.locator('[data-testid="fairshare-job-state"]', has_text="cancelled").wait_for(timeout=30_000)

        last_cell = page.locator(".jp-Notebook .jp-Cell").nth(2)
        last_cell.locator(".jp-OutputArea", has_text="cancel").wait_for(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "sidebar-cancelled.png"))
    jobs = {job["name"]: job for job in http.get("/api/v1/jobs").json()["jobs"]}
    assert jobs["first-job"]["state"] == "done" and jobs["second-job"]["state"] == "cancelled"
    for job in blockers:
        wait_for(http, job["id"])
