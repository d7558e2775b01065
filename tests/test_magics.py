"""%%fairshare and %fairshare driven through a real IPython shell."""

import threading

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from jupyter_fairshare import errors, wire
from jupyter_fairshare.api import Job
from jupyter_fairshare.magics import FairshareMagics

from .fakepool import FakePool


@pytest.fixture
def shell():
    shell = InteractiveShell.instance()
    shell.user_ns.update({"x": 2, "y": 3})
    yield shell
    for name in ("x", "y", "z", "w", "lock", "seen"):
        shell.user_ns.pop(name, None)


@pytest.fixture
def fake():
    return FakePool()


@pytest.fixture
def magics(shell, fake):
    magics = FairshareMagics(shell)
    magics.pool = fake.pool()
    shell.register_magics(magics)
    return magics


def test_the_cell_runs_remotely_with_its_inputs_and_its_outputs_come_back(shell, magics, fake):
    shell.run_cell_magic("fairshare", "--cpus 2 --memory 4GB", "z = x * y\nw = z + 1")
    assert shell.user_ns["z"] == 6 and shell.user_ns["w"] == 7
    assert fake.metas[-1]["kind"] == "cell" and fake.metas[-1]["cpus"] == 2.0
    task = wire.loads(list(fake.payloads.values())[-1])
    assert task.inputs == {"x": 2, "y": 3} and task.outputs == ["z", "w"]


def test_printed_output_is_shown_as_it_was_printed(shell, magics, capsys):
    shell.run_cell_magic("fairshare", "", "print('hello', x)")
    assert capsys.readouterr().out == "hello 2\n"


def test_the_last_expressions_value_is_displayed(shell, magics, capsys):
    shell.run_cell_magic("fairshare", "", "x + 40")
    assert "42" in capsys.readouterr().out


def test_a_remote_exception_is_raised_here_showing_the_remote_traceback(shell, magics):
    with pytest.raises(ZeroDivisionError) as info:
        shell.run_cell_magic("fairshare", "", "z = 1\nx / 0")
    rendered = "\n".join(info.value._render_traceback_())
    assert "Remote traceback" in rendered and "ZeroDivisionError" in rendered


def test_in_and_out_override_the_analysis(shell, magics, fake):
    shell.run_cell_magic("fairshare", "--in x --out w", "z = x\nw = x * 10")
    assert shell.user_ns["w"] == 20 and "z" not in shell.user_ns
    task = wire.loads(list(fake.payloads.values())[-1])
    assert task.inputs == {"x": 2}


def test_an_unserialisable_variable_is_named_before_anything_is_sent(shell, magics, fake):
    shell.user_ns["lock"] = threading.Lock()
    with pytest.raises(errors.NotSerializable, match="'lock' of type _thread.lock"):
        shell.run_cell_magic("fairshare", "", "lock.locked()")
    assert fake.metas == []


def test_an_undefined_name_given_with_in_is_refused(shell, magics):
    with pytest.raises(errors.BadRequest, match="--in names nope"):
        shell.run_cell_magic("fairshare", "--in nope", "1")


def test_async_returns_the_job_and_result_brings_the_outputs_in_later(shell, magics):
    magics.pool = FakePool(defer=True).pool()
    job = shell.run_cell_magic("fairshare", "--async --name later", "z = x + y")
    assert isinstance(job, Job) and "z" not in shell.user_ns
    shell.run_line_magic("fairshare", f"result {job.id}")
    assert shell.user_ns["z"] == 5


def test_options_reach_the_pool(shell, magics, fake):
    shell.run_cell_magic("fairshare", "--gpus 1 --max-cost 1.50 --deadline 2h --site local --name mine", "1")
    meta = fake.metas[-1]
    assert (meta["gpus"], meta["max_cost"], meta["deadline"], meta["site"], meta["name"]) == (1, 1.5, 7200.0, "local", "mine")


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
    for option in ("--cpus", "--memory", "--gpus", "--max-cost", "--deadline", "--site", "--tier", "--name", "--async", "--in", "--out"):
        assert option in doc


def test_line_commands_print_the_pools_answers(shell, magics, capsys):
    shell.run_cell_magic("fairshare", "", "1")
    job_id = magics.pool.jobs()[0].id
    for command in ("status", "jobs", "quota", "prices", f"why {job_id}", f"cancel {job_id}"):
        shell.run_line_magic("fairshare", command)
    out = capsys.readouterr().out
    assert "account ada (standard), balance 10.0000" in out
    assert job_id in out and "done" in out
    assert "balance: 10.0" in out and "local (price version 1)" in out
    assert f"Job {job_id} is not waiting" in out and f"Job {job_id} is already done" in out


def test_a_command_that_needs_a_job_says_so(shell, magics):
    with pytest.raises(errors.BadRequest, match="write %fairshare cancel JOB"):
        shell.run_line_magic("fairshare", "cancel")


def test_an_unknown_job_is_reported(shell, magics):
    with pytest.raises(errors.JobNotFound):
        shell.run_line_magic("fairshare", "result nope")
