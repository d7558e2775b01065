"""The Python API: Pool.submit and the Job future, over the documented HTTP calls."""

import json

import pytest

from jupyter_fairshare import errors, wire
from jupyter_fairshare.api import parse_duration
from jupyter_fairshare.settings import config_path, resolve

from .fakepool import FakePool


def add(a, b=0):
    return a + b


def test_a_call_comes_back_with_its_value_and_the_job_is_billed():
    job = FakePool().pool().submit(add, 2, b=3)
    assert job.result() == 5
    assert job.done() and job.status == "done"
    assert job.bill["total"] == pytest.approx(0.001) and job.cost == pytest.approx(0.001)
    assert job.site == "local" and job.finished_at >= job.submitted_at


def test_the_metadata_names_the_kind_resources_deadline_and_versions():
    fake = FakePool()
    fake.pool().submit(add, 1, cpus=2, memory="4GB", max_cost=1.5, deadline="2h", site="local")
    meta = fake.metas[-1]
    assert meta["kind"] == "call" and meta["name"] == "add"
    assert (meta["cpus"], meta["memory"], meta["max_cost"], meta["deadline"], meta["site"]) == (2, "4GB", 1.5, 7200.0, "local")
    assert meta["versions"]["python"] == wire.runtime_versions()["python"]


def test_a_queued_job_reports_its_position_then_follows_events_to_the_end():
    pool = FakePool(defer=True).pool()
    job = pool.submit(add, 1)
    assert job.info["state"] == "queued" and job.info["position"] == 1
    assert "1 of 1" in repr(job)
    assert job.result(timeout=5) == 1
    assert job.info["state"] == "done" and job.info["position"] is None


def test_a_remote_exception_is_raised_as_itself_with_the_remote_traceback_as_cause():
    job = FakePool().pool().submit(add, 1, "x")
    with pytest.raises(TypeError) as info:
        job.result()
    assert isinstance(info.value.__cause__, errors.RemoteTraceback)
    assert "Remote traceback" in str(info.value.__cause__) and "add" in str(info.value.__cause__)


def test_a_cancelled_job_says_so():
    pool = FakePool(defer=True).pool()
    job = pool.submit(add, 1)
    assert job.cancel() is True and job.done()
    with pytest.raises(errors.JobCancelled, match=f"{job.id} was cancelled"):
        job.result()


def test_a_max_cost_stop_raises_max_cost_reached_with_the_pools_sentence():
    fake = FakePool(defer=True)
    job = fake.pool().submit(add, 1)
    fake.jobs[job.id].update(state="failed", reason="max cost", error="Max cost reached: raise --max-cost.")
    job.info = fake.jobs[job.id]
    with pytest.raises(errors.MaxCostReached, match="raise --max-cost"):
        job.result()


def test_a_failed_job_without_a_result_raises_job_failed_with_its_error():
    fake = FakePool(defer=True)
    job = fake.pool().submit(add, 1)
    fake.jobs[job.id].update(state="failed", reason="memory", error="The job used more than its 2 GB; ask for more.")
    job.info = fake.jobs[job.id]
    with pytest.raises(errors.JobFailed, match="ask for more"):
        job.result()


def test_a_version_mismatch_outcome_raises_version_mismatch():
    fake = FakePool(defer=True)
    job = fake.pool().submit(add, 1)
    fake.results[job.id] = wire.dumps(wire.Outcome(ok=False, error_type="VersionMismatch", error_message="Python 3.9 vs 3.11; align them."))
    fake.jobs[job.id].update(state="failed")
    job.info = fake.jobs[job.id]
    with pytest.raises(errors.VersionMismatch, match="align them"):
        job.result()


def test_a_lost_worker_is_a_warning_and_the_job_goes_on():
    fake = FakePool(defer=True)
    fake.requeue_once = True
    job = fake.pool().submit(add, 4)
    with pytest.warns(errors.WorkerLost, match="back in the queue"):
        assert job.result() == 4


async def test_a_job_can_be_awaited():
    import httpx

    from jupyter_fairshare.api import Pool
    from jupyter_fairshare.client import Client

    fake = FakePool(defer=True)
    transport = httpx.MockTransport(fake.handle)
    pool = Pool("http://pool.test", client=Client("http://pool.test", "good", transport=transport, async_transport=transport))
    assert await pool.submit(add, 20, 22) == 42
    await pool.client.aclose()


def test_map_submits_one_job_per_item_and_jobs_lists_them_newest_first():
    pool = FakePool().pool()
    jobs = pool.map(add, [1, 2, 3], [10, 20, 30])
    assert [j.result() for j in jobs] == [11, 22, 33]
    assert [j.id for j in pool.jobs()] == [j.id for j in reversed(jobs)]


def test_account_and_prices_are_read_from_the_pool():
    pool = FakePool().pool()
    assert pool.account()["balance"] == 10.0
    assert pool.prices()["sites"][0]["site"] == "local"


def test_a_payload_over_the_published_limit_fails_before_it_is_sent():
    fake = FakePool()
    fake.payload_limit = 2 * 1024 * 1024
    with pytest.raises(errors.PayloadTooLarge) as info:
        fake.pool().submit(add, b"x" * (3 * 1024 * 1024))
    assert info.value.limit == 2 * 1024 * 1024 and info.value.size > info.value.limit
    assert not fake.metas


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("30m", 1800), ("2h", 7200), ("1.5d", 129600), ("45", 45), (12, 12)])
def test_durations_are_read_in_seconds(text, seconds):
    assert parse_duration(text) == seconds


def test_a_duration_that_is_not_understood_says_how_to_write_one():
    with pytest.raises(errors.BadRequest, match="like 90s, 30m, 2h or 1d"):
        parse_duration("soon")


@pytest.fixture
def clean_settings(monkeypatch, tmp_path):
    monkeypatch.delenv("FAIRSHARE_URL", raising=False)
    monkeypatch.delenv("FAIRSHARE_TOKEN", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def test_arguments_win_over_environment_and_config(clean_settings, monkeypatch):
    monkeypatch.setenv("FAIRSHARE_URL", "http://env:1")
    monkeypatch.setenv("FAIRSHARE_TOKEN", "env-token")
    assert resolve("http://arg:1/", "arg-token").token == "arg-token"
    settings = resolve("http://arg:1/", None)
    assert (settings.url, settings.token, settings.source) == ("http://arg:1", "env-token", "argument")


def test_the_config_file_is_used_when_the_environment_is_empty(clean_settings):
    path = config_path()
    assert str(path).startswith(str(clean_settings))
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"url": "http://cfg:2", "token": "cfg-token"}))
    settings = resolve()
    assert (settings.url, settings.token) == ("http://cfg:2", "cfg-token")


def test_an_unreadable_config_file_is_reported_with_its_path(clean_settings):
    path = config_path()
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(errors.FairshareError, match="config.json cannot be read"):
        resolve()
