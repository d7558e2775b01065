"""The Python API's Pool: submitting, listing, limits and connecting, against a real pool process."""

import json
import os
import signal
import time

import pytest

import jupyter_fairshare as fs
from jupyter_fairshare.client import errors
from jupyter_fairshare.client.settings import resolve
from jupyter_fairshare.notebook.api import parse_duration

from ..conftest import start_pool


def add(a, b=0):
    return a + b


def test_a_call_comes_back_with_its_value_and_the_job_is_billed(pool):
    job = pool.submit(add, 2, b=3)
    assert job.result(timeout=60) == 5
    assert job.done() and job.status == "done"
    assert job.bill["total"] == job.cost > 0 and job.bill["lines"]
    assert job.site == "local" and job.finished_at >= job.started_at >= job.submitted_at


def test_the_metadata_names_the_kind_resources_and_limits(pool):
    job = pool.submit(add, 1, memory="500MB", max_cost=1.5, deadline="2h", site="local", name="adder")
    job.result(timeout=60)
    info = pool.client.job(job.id)
    assert (info["kind"], info["name"], info["memory"], info["max_cost"], info["site"]) == (
        "call", "adder", 500 * 10**6, 1.5, "local")


def test_map_submits_one_job_per_item_and_jobs_lists_them_newest_first(pool):
    jobs = pool.map(add, [1, 2, 3], [10, 20, 30])
    assert [j.result(timeout=60) for j in jobs] == [11, 22, 33]
    assert [j.id for j in pool.jobs()] == [j.id for j in reversed(jobs)]


def test_account_and_prices_are_read_from_the_pool(pool):
    assert pool.account()["balance"] == 10.0
    assert pool.prices()["sites"][0]["site"] == "local"


def test_a_payload_over_the_published_limit_fails_before_it_is_sent(tmp_path):
    config = tmp_path / "pool.toml"
    config.write_text('payload_limit = "2MiB"\n[[sites]]\nname = "local"\nworkers = 1\n')
    small = start_pool(tmp_path / "pool", config=config)
    try:
        pool = fs.connect(small.url, small.add_account("big"))
        with pytest.raises(errors.PayloadTooLarge) as info:
            pool.submit(add, b"x" * (3 * 1024 * 1024))
        assert info.value.limit == 2 * 1024 * 1024 and info.value.size > info.value.limit
        assert pool.client.jobs() == []
        pool.close()
    finally:
        small.kill(signal.SIGTERM)


@pytest.mark.parametrize(("text", "seconds"),
                         [("90s", 90), ("30m", 1800), ("2h", 7200), ("1.5d", 129600), ("45", 45), (12, 12)])
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


def test_the_first_use_starts_the_embedded_pool_and_says_so(clean_settings, monkeypatch, capsys):
    from jupyter_fairshare import embedded

    data_dir = clean_settings / "data"
    monkeypatch.setenv("FAIRSHARE_DATA_DIR", str(data_dir))
    try:
        settings = resolve()
        said = capsys.readouterr().err
        assert settings.source == "embedded" and settings.token
        assert "starting the embedded pool" in said and f"embedded pool ready at {settings.url}" in said
        assert resolve().url == settings.url  # found running: nothing to say
        assert capsys.readouterr().err == ""
    finally:
        embedded.stop(data_dir)


def test_an_accounts_jobs_may_share_a_job_process_but_never_with_another_account(pool_server):
    pids = {}
    for name in ("first", "second"):
        with fs.connect(pool_server.url, pool_server.add_account(f"api-pids-{name}-{time.monotonic_ns()}")) as pool:
            pids[name] = [pool.submit(os.getpid).result(timeout=60) for _ in range(6)]
    assert not set(pids["first"]) & set(pids["second"])
    assert len(set(pids["first"])) <= 2 and len(set(pids["second"])) <= 2  # one process per worker at most


def test_the_package_depends_on_everything_the_demo_notebooks_import():
    """The README's first command installs the package and runs `fairshare demo`; each
    notebook it opens must import, on the kernel and on the workers (one environment)."""
    import ast
    import re
    import sys
    import tomllib
    from importlib.metadata import packages_distributions
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    declared = {re.split(r"[<>=\[ ;]", d, maxsplit=1)[0].lower()
                for d in tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]}
    imported: set[str] = set()
    for notebook in sorted((root / "examples").glob("*.ipynb")):
        for cell in json.loads(notebook.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = "\n".join(line for line in "".join(cell["source"]).splitlines() if not line.startswith("%"))
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Import):
                    imported |= {alias.name for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    imported.add(node.module)
    needed = set()
    distributions = packages_distributions()
    for module in imported:
        top = module.split(".")[0]
        if top in sys.stdlib_module_names or top == "jupyter_fairshare":
            continue
        needed |= {d.lower() for d in distributions.get(top, [top])}
    if "dask.dataframe" in imported:
        needed |= {"pandas", "pyarrow"}
    assert needed - declared == set()


def test_a_cell_that_imports_a_package_the_worker_lacks_is_told_its_kernel_version(pool, tmp_path, monkeypatch,
                                                                                   capsys):
    """The payload's header names the packages a cell imports (from its AST), not only its
    inputs' packages, so the worker can name both sides of a version difference."""
    import sys

    from jupyter_fairshare import wire

    (tmp_path / "fskernelonly").mkdir()
    (tmp_path / "fskernelonly" / "__init__.py").write_text("__version__ = '3.1'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import fskernelonly  # noqa: F401 - the kernel has it; the pool's workers do not

    job = pool.submit_task(wire.CellTask("import fskernelonly\nfskernelonly.__version__"), name="imports")
    with pytest.raises(ModuleNotFoundError):
        job.result(timeout=60)
    assert "module fskernelonly 3.1 is used by this job but is not installed on the worker" in capsys.readouterr().err
    monkeypatch.delitem(sys.modules, "fskernelonly")
