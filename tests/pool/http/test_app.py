"""The HTTP API end to end: a real pool process on loopback with a real LocalCluster."""

from __future__ import annotations

import json
import time

import httpx

from jupyter_fairshare import wire
from tests.conftest import eventually, submit, wait_for


def double(x):
    print("doubling", x)
    return 2 * x


def test_a_submitted_call_comes_back_with_its_result_output_and_bill(account):
    response = submit(account, double, 21, name="double", wait=30)
    assert response.status_code == 201, response.text
    job = response.json()
    assert job["state"] == "done" and job["name"] == "double" and job["site"] == "local"
    outcome = wire.loads(account.get(f"/api/v1/jobs/{job['id']}/result").content)
    assert outcome.ok and outcome.value == 42
    bill = job["bill"]
    assert bill["total"] == job["cost"] > 0
    assert {line["item"] for line in bill["lines"]} == {"cpu", "memory"}
    assert abs(sum(line["amount"] for line in bill["lines"]) - bill["total"]) < 1e-12
    assert bill["co2e_g"] == bill["energy_kwh"] * bill["carbon_intensity"] > 0
    assert bill["price_version"] >= 1 and bill["wall_seconds"] > 0


def test_the_event_stream_tells_a_job_from_queued_to_done_with_its_output(account):
    job = submit(account, double, 5, wait=30).json()
    with account.stream("GET", f"/api/v1/jobs/{job['id']}/events") as stream:
        events = [(e, json.loads(d)) for e, d in _sse(stream.iter_lines())]
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "queued" and kinds[1] == "started" and kinds[-1] == "done"
    output = "".join(data["text"] for kind, data in events if kind == "output" and data["stream"] == "stdout")
    assert output == "doubling 5\n"
    assert kinds.index("started") < kinds.index("output") < kinds.index("done")
    assert events[-1][1]["bill"]["total"] == job["cost"]


def test_holds_are_released_and_the_bill_charged_once(account):
    before = account.get("/api/v1/account").json()
    job = submit(account, double, 1, wait=30).json()
    after = account.get("/api/v1/account").json()
    assert after["held"] == 0.0
    assert abs(before["credits"] - after["credits"] - job["cost"]) < 1e-12
    assert after["usage"] > before["usage"]


def test_a_queued_job_says_where_it_stands_and_why(pool_server, account):
    blocker = [submit(account, time.sleep, 1.5, cpus=1).json() for _ in range(2)]
    waiting = submit(account, double, 1).json()
    assert waiting["state"] == "queued" and waiting["position"] == 1 and waiting["queue_length"] >= 1
    assert waiting["expected_start"] >= waiting["submitted_at"]
    why = account.get(f"/api/v1/jobs/{waiting['id']}/why").json()
    assert why["position"] == 1 and {"fairshare", "age", "priority"} <= set(why["components"])
    public = httpx.get(f"{pool_server.url}/api/v1/public/queue").json()
    assert any("components" in entry for entry in public["queue"])
    assert "account" not in json.dumps(public["queue"])
    for job in [*blocker, waiting]:
        wait_for(account, job["id"])


def test_cancelling_a_queued_job_charges_nothing(account):
    blockers = [submit(account, time.sleep, 1.5).json() for _ in range(2)]
    queued = submit(account, double, 3).json()
    cancelled = account.post(f"/api/v1/jobs/{queued['id']}/cancel").json()
    assert cancelled["state"] == "cancelled" and cancelled["cost"] == 0.0
    for job in blockers:
        wait_for(account, job["id"])
    assert account.get("/api/v1/account").json()["held"] == 0.0


def test_cancelling_a_running_job_stops_it_within_a_second(account):
    job = submit(account, time.sleep, 60).json()
    wait_for(account, job["id"], states=("running",))
    started = time.monotonic()
    cancelled = account.post(f"/api/v1/jobs/{job['id']}/cancel").json()
    assert time.monotonic() - started < 1.5
    assert cancelled["state"] == "cancelled"
    assert cancelled["bill"]["wall_seconds"] < 30


def test_a_job_that_reaches_its_max_cost_is_stopped_and_billed_to_the_cap(account):
    cap = 2e-6  # a few tenths of a second of one CPU at the default prices
    job = submit(account, time.sleep, 30, max_cost=cap, wait=20).json()
    assert job["state"] == "failed" and job["reason"] == "max cost"
    assert "Max cost reached" in job["error"]
    assert job["cost"] == cap and job["bill"]["capped"] is True


def test_a_failing_call_brings_back_the_remote_exception(account):
    job = submit(account, divmod, 1, 0, wait=30).json()
    assert job["state"] == "failed" and "ZeroDivisionError" in job["error"]
    outcome = wire.loads(account.get(f"/api/v1/jobs/{job['id']}/result").content)
    assert not outcome.ok and outcome.error_type == "ZeroDivisionError"


def test_requests_without_a_valid_token_are_refused_with_a_sentence(pool_server):
    assert httpx.get(f"{pool_server.url}/api/v1/jobs").status_code == 401
    bad = httpx.get(f"{pool_server.url}/api/v1/account", headers={"Authorization": "Bearer fs_nope"})
    assert bad.status_code == 401 and "FAIRSHARE_TOKEN" in bad.json()["detail"]


def test_another_accounts_job_is_invisible(pool_server, account):
    job = submit(account, double, 2, wait=30).json()
    with pool_server.client(pool_server.add_account(f"other-{time.monotonic_ns()}")) as other:
        for path in ("", "/result", "/events", "/why"):
            assert other.get(f"/api/v1/jobs/{job['id']}{path}").status_code == 404
        assert other.post(f"/api/v1/jobs/{job['id']}/cancel").status_code == 404
        assert job["id"] not in {j["id"] for j in other.get("/api/v1/jobs").json()["jobs"]}


def test_bad_submissions_get_a_4xx_that_says_what_to_do(account):
    blob = wire.dumps(wire.CallTask(double, (1,)))
    cases = {
        '{"cpus": "many"}': 422,
        '{"kind": "shell"}': 422,
        'not json': 422,
        '{"memory": "lots"}': 422,
        '{"site": "mars"}': 422,
        '{"cpus": 64}': 422,
        '{"gpus": 2}': 422,
    }
    for header, status in cases.items():
        response = account.post("/api/v1/jobs", content=blob, headers={"Fairshare-Job": header})
        assert response.status_code == status, (header, response.text)
        detail = response.json()["detail"]
        assert isinstance(detail, str) and detail.endswith(".") and len(detail) < 300, detail


def test_a_submission_over_the_balance_is_refused_with_the_estimate_and_balance(pool_server):
    with pool_server.client(pool_server.add_account(f"poor-{time.monotonic_ns()}", credits=0.5)) as poor:
        response = submit(poor, double, 1, max_cost=2.0)
        assert response.status_code == 402
        detail = response.json()["detail"]
        assert "2.0000" in detail and "0.5000" in detail
        assert poor.get("/api/v1/jobs").json()["jobs"] == []


def test_jobs_are_listed_newest_first(account):
    ids = [submit(account, double, i).json()["id"] for i in range(3)]
    listed = [job["id"] for job in account.get("/api/v1/jobs").json()["jobs"]]
    assert listed == ids[::-1]
    for job_id in ids:
        wait_for(account, job_id)


def test_public_views_publish_prices_sites_stats_and_the_spec(pool_server, account):
    submit(account, double, 1, wait=30)
    prices = httpx.get(f"{pool_server.url}/api/v1/public/prices").json()["sites"][0]
    assert prices["cpu_second"] == sum(prices["breakdown"]["cpu_second"].values())
    assert set(prices["breakdown"]["cpu_second"]) == {"energy", "hardware", "operations"}
    sites = httpx.get(f"{pool_server.url}/api/v1/public/sites").json()["sites"]
    assert sites[0]["cpus"] == 2 and sites[0]["carbon_intensity"] == 250
    stats = httpx.get(f"{pool_server.url}/api/v1/public/stats").json()
    window = stats["windows"]["1h"]
    assert window["acceptance"]["standard"]["accepted"] >= 1
    assert any(w["tier"] == "standard" and w["p50"] is not None for w in window["waits"])
    assert window["estimates"]["standard"]["jobs"] >= 1
    assert 0.0 <= window["estimates"]["standard"]["within_uncertainty"] <= 1.0
    plot = httpx.get(f"{pool_server.url}/api/v1/public/stats.svg", params={"window": "1h"})
    assert plot.headers["content-type"] == "image/svg+xml" and "standard @ local" in plot.text
    spec = httpx.get(f"{pool_server.url}/openapi.json").json()
    assert "/api/v1/jobs/{job_id}/events" in spec["paths"]
    metrics = httpx.get(f"{pool_server.url}/metrics").text
    assert "fairshare_submissions_total" in metrics


def _sse(lines):
    kind = None
    for line in lines:
        if line.startswith("event: "):
            kind = line[len("event: "):]
        elif line.startswith("data: "):
            yield kind, line[len("data: "):]


def test_a_resubmitted_client_id_runs_once_and_anothers_id_is_refused(pool_server, account):
    job_id = "ab" * 16
    first = submit(account, double, 4, id=job_id, wait=30).json()
    again = submit(account, double, 4, id=job_id).json()
    assert first["id"] == again["id"] == job_id and again["state"] == "done"
    assert [j["id"] for j in account.get("/api/v1/jobs").json()["jobs"]].count(job_id) == 1
    with pool_server.client(pool_server.add_account(f"thief-{time.monotonic_ns()}")) as other:
        assert submit(other, double, 4, id=job_id).status_code == 409


def test_a_queued_jobs_stream_tells_its_position_as_it_moves_up(account):
    blockers = [submit(account, time.sleep, seconds).json() for seconds in (0.5, 2.5)]  # workers free apart
    ahead = submit(account, time.sleep, 1.0).json()
    mine = submit(account, double, 7).json()
    positions = []
    with account.stream("GET", f"/api/v1/jobs/{mine['id']}/events") as stream:
        for kind, data in _sse(stream.iter_lines()):
            data = json.loads(data)
            if kind == "queued" and "position" in data:
                positions.append(data["position"])
            if kind in ("done", "failed", "cancelled"):
                break
    assert positions[0] == 2 and positions[-1] == 1
    for job in [*blockers, ahead]:
        wait_for(account, job["id"])


def test_a_large_payload_is_spooled_to_a_file_mapped_by_the_job_and_removed_after(pool_server, account):
    import numpy as np

    from jupyter_fairshare.wire import CallTask, dumps

    def add_one_in_place(a):
        a += 1  # inputs stay writable, as in a local run
        return float(a.sum())

    array = np.zeros(4 * 2**20 // 8)  # 4 MiB: over the 1 MiB spool threshold
    response = account.post("/api/v1/jobs", params={"wait": 60}, content=dumps(CallTask(add_one_in_place, (array,))),
                            headers={"Fairshare-Job": "{}"})
    job = response.json()
    assert job["state"] == "done", job
    assert wire.loads(account.get(f"/api/v1/jobs/{job['id']}/result").content).value == array.size
    spool = pool_server.data_dir / "spool"
    assert not list(spool.glob("*.part"))
    assert eventually(lambda: not list(spool.glob(f"{job['id']}*"))), "the finished job's payload file stayed"


def test_a_finished_jobs_payload_file_is_kept_and_the_next_upload_overwrites_it(pool_server, account):
    import numpy as np

    from jupyter_fairshare import spoolfiles

    free = pool_server.data_dir / "spool" / spoolfiles.FREE
    spoolfiles.empty(free.parent)  # files earlier tests' jobs left for reuse
    sizes = [2 * 2**20 // 8, 3 * 2**20 // 8]  # MiB over the 1 MiB spool threshold, the second larger
    inodes = []
    for size in sizes:
        payload = wire.dumps(wire.CallTask(np.sum, (np.ones(size),)))
        response = account.post("/api/v1/jobs", params={"wait": 60}, content=payload,
                                headers={"Fairshare-Job": "{}"})
        job = response.json()
        assert job["state"] == "done"
        assert wire.loads(account.get(f"/api/v1/jobs/{job['id']}/result").content).value == size
        own = free.parent / f"{job['id']}.payload"
        assert eventually(lambda: not own.exists())  # noqa: B023 - checked in this pass
        kept = list(free.iterdir())
        assert len(kept) == 1
        inodes.append(kept[0].stat().st_ino)
    # The second payload went into the first one's file (the only one kept), and that file
    # was kept again; a new file would have been kept beside it.
    assert inodes[0] == inodes[1] and next(free.iterdir()).stat().st_size >= sizes[1] * 8


def test_a_short_job_answers_its_wait_with_its_output_and_result_inline(account):
    import base64

    job = submit(account, double, 8, wait=30).json()
    assert job["state"] == "done"
    assert "".join(chunk["text"] for chunk in job["inline"]["output"]) == "doubling 8\n"
    assert wire.loads(base64.b64decode(job["inline"]["result"])).value == 16
    chatty = submit(account, print, "x" * 100_000, wait=30).json()  # too much output to inline
    assert chatty["state"] == "done" and chatty["inline"] is None
    assert account.get(f"/api/v1/jobs/{job['id']}").json()["inline"] is None  # only with the wait answer


def slow_double(x):
    time.sleep(0.5)
    return 2 * x


def test_the_final_event_carries_times_and_cost_and_a_live_follower_gets_the_small_result(account):
    import base64
    import threading

    job = submit(account, slow_double, 21).json()
    seen_by_account: list = []

    def listen_to_the_account() -> None:  # as the sidebar does: no result blobs there
        with account.stream("GET", "/api/v1/events", timeout=30) as stream:
            for kind, data in _sse(stream.iter_lines()):
                event = json.loads(data)
                if event["job"] == job["id"] and kind in ("done", "failed", "cancelled"):
                    seen_by_account.append(event)
                    return

    listener = threading.Thread(target=listen_to_the_account, daemon=True)
    listener.start()
    with account.stream("GET", f"/api/v1/jobs/{job['id']}/events") as stream:
        live = [(kind, json.loads(data)) for kind, data in _sse(stream.iter_lines())]
    listener.join(timeout=30)
    stored = account.get(f"/api/v1/jobs/{job['id']}").json()
    kind, final = live[-1]
    assert kind == "done" and final["finished_at"] == stored["finished_at"] and final["cost"] == stored["cost"] > 0
    assert wire.loads(base64.b64decode(final["inline"]["result"])).value == 42
    assert seen_by_account and "inline" not in seen_by_account[0]
    assert seen_by_account[0]["finished_at"] == stored["finished_at"]
    with account.stream("GET", f"/api/v1/jobs/{job['id']}/events") as stream:  # a replay from the store
        replayed = [(kind, json.loads(data)) for kind, data in _sse(stream.iter_lines())]
    assert replayed[-1][0] == "done" and "inline" not in replayed[-1][1]
    assert replayed[-1][1]["cost"] == stored["cost"]


def print_then_work(seconds):
    print("started", flush=True)
    time.sleep(seconds)
    return seconds


def test_a_waiting_submission_is_answered_soon_after_the_job_prints_so_its_output_can_stream(account):
    begun = time.monotonic()
    job = submit(account, print_then_work, 3.0, wait=30).json()
    answered = time.monotonic() - begun
    assert job["state"] == "running" and answered < 2.0  # not at the end, 3 s later
    with account.stream("GET", f"/api/v1/jobs/{job['id']}/events") as stream:
        events = [(kind, json.loads(data)) for kind, data in _sse(stream.iter_lines())]
    assert [data["text"] for kind, data in events if kind == "output"] == ["started\n"]
    assert events[-1][0] == "done"
    quiet = submit(account, time.sleep, 0.3, wait=30).json()  # prints nothing: the answer waits for the end
    assert quiet["state"] == "done"
    again = submit(account, print_then_work, 1.0).json()
    wait_for(account, again["id"], states=("running",))
    time.sleep(0.3)  # it has printed by now: a wait that starts later waits for the end, not for old news
    assert account.get(f"/api/v1/jobs/{again['id']}", params={"wait": 30}).json()["state"] == "done"


def test_a_submission_without_metadata_or_token_or_with_a_bad_wait_is_refused_with_a_sentence(pool_server, account):
    body = wire.dumps(wire.CallTask(int))
    missing = account.post("/api/v1/jobs", content=body)
    assert missing.status_code == 422 and "Fairshare-Job header is missing" in missing.json()["detail"]
    for wait in ("-1", "301", "soon"):
        bad = account.post("/api/v1/jobs", params={"wait": wait}, content=body, headers={"Fairshare-Job": "{}"})
        assert bad.status_code == 422 and "from 0 to 300" in bad.json()["detail"], wait
    anonymous = httpx.post(f"{pool_server.url}/api/v1/jobs", content=body, headers={"Fairshare-Job": "{}"})
    assert anonymous.status_code == 401 and "No token was sent" in anonymous.json()["detail"]

