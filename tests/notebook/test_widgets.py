"""The live view of a job: the status sentence, the text line and the ipywidgets panel."""

import io
import time

import pytest

import jupyter_fairshare as fs
from jupyter_fairshare.notebook.widgets import JobPanel, StatusLine, format_status

NOW = 1000.0


def test_a_queued_job_shows_its_place_and_expected_start():
    info = {"id": "j1", "state": "queued", "position": 3, "queue_length": 12, "expected_start": NOW + 40}
    assert format_status(info, NOW) == "job j1 queued, 3 of 12 in the queue, expected to start in 40 s"


def test_a_running_job_shows_site_elapsed_progress_and_cost_against_its_cap():
    info = {"id": "j1", "state": "running", "site": "uni", "started_at": NOW - 75, "cost": 0.12,
            "max_cost": 1.5, "progress": {"done": 4, "total": 10}}
    assert format_status(info, NOW) == (
        "job j1 running, at uni, running for 1 min 15 s, 4/10 tasks, cost 0.1200 of max 1.50 credits"
    )


def test_an_ended_job_shows_its_bill_and_its_error():
    info = {"id": "j1", "state": "failed", "started_at": NOW - 2, "finished_at": NOW - 1,
            "bill": {"total": 0.5, "co2e_g": 1.25}, "error": "Out of memory; ask for more."}
    assert format_status(info, NOW) == (
        "job j1 failed, ran 1.0 s, cost 0.5000 credits, 1.25 gCO2e, Out of memory; ask for more."
    )


def test_the_status_line_prints_once_per_state_and_once_at_the_end():
    stream = io.StringIO()
    line = StatusLine(stream, clock=lambda: NOW)
    for state in ("queued", "queued", "running", "running"):
        line.update({"id": "j", "state": state})
    line.close({"id": "j", "state": "done"})
    assert stream.getvalue().splitlines() == [
        "[fairshare] job j queued", "[fairshare] job j running", "[fairshare] job j done"
    ]


@pytest.fixture
def pool(pool_server):
    pool = fs.connect(pool_server.url, pool_server.add_account(f"widgets-{time.monotonic_ns()}"))
    yield pool
    pool.close()


def test_the_panel_shows_progress_and_its_cancel_button_cancels_the_job(pool):
    job = pool.submit(time.sleep, 30)
    panel = JobPanel(job, clock=lambda: NOW)
    panel.update({**job.info, "progress": {"done": 2, "total": 5}})
    assert job.info["state"] in panel.text.value and (panel.bar.value, panel.bar.max) == (2, 5)
    panel.cancel_button.click()
    assert panel.cancel_button.disabled
    # The pool answers once the worker stopped, or after 2 s with the job still stopping.
    assert "cancelled" in panel.text.value if job.done() else panel.text.value.endswith(", cancelling")
    assert job.wait(timeout=30).info["state"] == "cancelled"


def test_following_a_job_hands_its_output_events_over_in_order(pool):
    def chatty():
        import time as _time

        for word in ("one", "two", "three"):
            print(word, flush=True)
            _time.sleep(0.1)

    job = pool.submit(chatty)
    seen = []
    job.follow(on_output=lambda event: seen.append(event.data["text"]))
    assert "".join(seen) == "one\ntwo\nthree\n" and job.done()
