"""%%fairshare and %fairshare driven through a real IPython shell against a real pool."""

import re
import threading
import time

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

import jupyter_fairshare as fs
from jupyter_fairshare.client import errors
from jupyter_fairshare.notebook.api import Job
from jupyter_fairshare.notebook.magics import FairshareMagics


@pytest.fixture
def shell():
    shell = InteractiveShell.instance()
    shell.user_ns.update({"x": 2, "y": 3})
    yield shell
    for name in ("x", "y", "z", "w", "lock", "seen"):
        shell.user_ns.pop(name, None)


@pytest.fixture
def account(pool_server):
    """A fresh standard account with 10 credits: (name, token)."""
    name = f"magic-{time.monotonic_ns()}"
    return name, pool_server.add_account(name, credits=10.0)


@pytest.fixture
def magics(shell, pool_server, account):
    magics = FairshareMagics(shell)
    magics.pool = fs.connect(pool_server.url, account[1])
    shell.register_magics(magics)
    yield magics
    magics.pool.close()


def plain(text: str) -> str:
    """``text`` without its ANSI colours."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def last_job(magics) -> dict:
    """The account's newest job, as the pool records it."""
    return magics.pool.client.jobs(limit=1)[0]


def test_the_cell_runs_remotely_with_its_inputs_and_its_outputs_come_back(shell, magics):
    shell.run_cell_magic("fairshare", "--memory 1GB", "z = x * y\nw = z + 1")
    assert shell.user_ns["z"] == 6 and shell.user_ns["w"] == 7
    job = last_job(magics)
    assert job["kind"] == "cell" and job["state"] == "done" and job["memory"] == 10**9


def test_printed_output_is_shown_as_it_was_printed(shell, magics, capsys):
    shell.run_cell_magic("fairshare", "", "print('hello', x)")
    assert capsys.readouterr().out == "hello 2\n"


def test_output_printed_early_in_a_long_cell_is_shown_while_the_cell_still_runs(shell, magics, monkeypatch):
    from jupyter_fairshare.notebook import magics as module

    shown: list[tuple[float, str]] = []
    monkeypatch.setattr(module, "_print_output", lambda event: shown.append((time.monotonic(), event.data["text"])))
    begun = time.monotonic()
    shell.run_cell_magic("fairshare", "", "import time\nprint('first')\ntime.sleep(3)\nprint('last')")
    ended = time.monotonic()
    assert [text for _, text in shown] == ["first\n", "last\n"]
    # Seen well before the request's own 1 s wait would have ended, and long before the cell did.
    assert shown[0][0] - begun < 0.8 and ended - shown[0][0] > 2.0


def test_the_last_expressions_value_is_the_cells_result_with_underscore_and_out_set(shell, magics, capsys):
    # Failed before the change: the value came as a display, and _ and Out[n] were not set.
    n = shell.execution_count
    result = shell.run_cell("%%fairshare\nx + 40", store_history=True)
    assert result.result == 42 and shell.user_ns["_"] == 42 and shell.user_ns["Out"][n] == 42
    assert f"Out[{n}]: 42" in capsys.readouterr().out


def test_a_trailing_semicolon_before_a_comment_hides_the_value(shell, magics, capsys):
    # Failed before the change: only a ';' at the very end of the cell hid the value.
    result = shell.run_cell("%%fairshare\nx + 40;  # hidden", store_history=True)
    assert result.result is None and "42" not in capsys.readouterr().out


def test_a_remote_exception_is_shown_as_ipython_shows_a_local_one(shell, magics):
    # Failed before the change: the traceback had a "Remote traceback" line and named the
    # cell's first line as its file.
    n = shell.execution_count
    with pytest.raises(ZeroDivisionError) as info:
        shell.run_cell_magic("fairshare", "", "z = 1\nx / 0")
    rendered = plain("\n".join(info.value._render_traceback_()))
    assert f"Cell In[{n}], line 2" in rendered and "----> 2 x / 0" in rendered
    assert "Remote" not in rendered and "jupyter_fairshare" not in rendered
    assert rendered.rstrip().endswith("ZeroDivisionError: division by zero")


def test_in_and_out_override_the_analysis(shell, magics):
    shell.run_cell_magic("fairshare", "--in x --out w", "z = x\nw = x * 10")
    assert shell.user_ns["w"] == 20 and "z" not in shell.user_ns
    with pytest.raises(NameError):  # y was not sent, although the cell reads it
        shell.run_cell_magic("fairshare", "--in x", "v = x + y")


def test_an_unserialisable_variable_is_named_before_anything_is_sent(shell, magics):
    shell.user_ns["lock"] = threading.Lock()
    with pytest.raises(errors.NotSerializable, match="'lock' of type _thread.lock"):
        shell.run_cell_magic("fairshare", "", "lock.locked()")
    assert magics.pool.client.jobs() == []


def test_an_undefined_name_given_with_in_is_refused(shell, magics):
    with pytest.raises(errors.BadRequest, match="--in names nope"):
        shell.run_cell_magic("fairshare", "--in nope", "1")


def test_async_returns_the_job_and_result_brings_the_outputs_in_later(shell, magics):
    job = shell.run_cell_magic("fairshare", "--async --name later", "import time\ntime.sleep(0.5)\nz = x + y")
    assert isinstance(job, Job) and "z" not in shell.user_ns
    shell.run_line_magic("fairshare", f"result {job.id}")
    assert shell.user_ns["z"] == 5


def test_options_reach_the_pool(shell, magics):
    shell.run_cell_magic("fairshare", "--max-cost 1.50 --deadline 2h --site local --name mine --memory 500MB", "1")
    job = last_job(magics)
    assert (job["max_cost"], job["site"], job["name"], job["memory"]) == (1.5, "local", "mine", 500 * 10**6)
    with pytest.raises(errors.BadRequest, match="No site can offer 1 CPUs, 2.0 GB of memory and 1 GPUs"):
        shell.run_cell_magic("fairshare", "--gpus 1", "1")


def test_a_tier_the_account_is_not_in_is_refused_with_what_it_is(shell, magics):
    with pytest.raises(errors.BadRequest, match="in the standard tier, not newcomer"):
        shell.run_cell_magic("fairshare", "--tier newcomer", "1")


def test_bad_options_are_a_usage_error(shell, magics):
    with pytest.raises(UsageError):
        shell.run_cell_magic("fairshare", "--cpus many", "1")
    with pytest.raises(UsageError):
        shell.run_cell_magic("fairshare", "--in 'a b'", "1")


def test_help_lists_every_option(shell, magics):
    doc = magics.fairshare_cell.__doc__
    for option in ("--cpus", "--memory", "--gpus", "--max-cost", "--deadline", "--site", "--tier", "--name",
                   "--async", "--in", "--out"):
        assert option in doc


def test_line_commands_print_the_pools_answers(shell, magics, account, capsys):
    shell.run_cell_magic("fairshare", "", "1")
    job_id = magics.pool.jobs()[0].id
    for command in ("status", "jobs", "quota", "prices", f"why {job_id}", f"cancel {job_id}"):
        shell.run_line_magic("fairshare", command)
    out = capsys.readouterr().out
    assert f"account {account[0]} (standard), balance 10.0000" in out
    assert job_id in out and "done" in out
    balance = float(re.search(r"balance: ([0-9.]+)", out).group(1))
    assert 9.99 < balance <= 10.0 and "local (price version 1)" in out
    assert f"Job {job_id} is not waiting" in out and f"Job {job_id} is already done" in out


def test_a_command_that_needs_a_job_says_so(shell, magics):
    with pytest.raises(errors.BadRequest, match="write %fairshare cancel JOB"):
        shell.run_line_magic("fairshare", "cancel")


def test_an_unknown_job_is_reported(shell, magics):
    with pytest.raises(errors.JobNotFound):
        shell.run_line_magic("fairshare", "result nope")
