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


# -- a cell behaves on the pool as it does here -------------------------------------------


class Box:
    """A plain object for attribute changes to land on."""


def test_changes_made_in_place_come_back(shell, magics):
    # Failed before the change: only assigned names came back, so every change below was lost.
    import numpy as np

    shell.user_ns.update(L=[1], d={}, obj=Box(), other=Box(), arr=np.zeros(3), rng=np.random.default_rng(0))
    try:
        shell.run_cell_magic(
            "fairshare", "",
            "L.append(2)\nd.update(k=1)\nobj.attr = 5\nsetattr(other, 'b', 6)\narr[1] = 7\nx = rng.random()",
        )
        ns = shell.user_ns
        assert ns["L"] == [1, 2] and ns["d"] == {"k": 1} and ns["obj"].attr == 5 and ns["other"].b == 6
        assert ns["arr"].tolist() == [0.0, 7.0, 0.0]
        # The kernel's generator moved on: the next number is not the one the cell drew.
        assert ns["rng"].random() != ns["x"] == np.random.default_rng(0).random()
    finally:
        for name in ("L", "d", "obj", "other", "arr", "rng"):
            shell.user_ns.pop(name, None)


def test_del_in_the_cell_deletes_here(shell, magics):
    # Failed before the change: the kernel kept y.
    shell.run_cell_magic("fairshare", "", "del y\nz = x")
    assert "y" not in shell.user_ns and shell.user_ns["z"] == 2


def test_what_was_assigned_before_an_exception_comes_back_with_it(shell, magics):
    # Failed before the change: a failed cell brought nothing back.
    shell.user_ns["L"] = []
    try:
        with pytest.raises(KeyError):
            shell.run_cell_magic("fairshare", "", "z = x + 1\nL.append(z)\n{}['missing']\nw = 1")
        assert shell.user_ns["z"] == 3 and shell.user_ns["L"] == [3] and "w" not in shell.user_ns
    finally:
        shell.user_ns.pop("L", None)


def test_a_name_defined_nowhere_is_refused_before_sending(shell, magics):
    # Failed before the change: the job was sent, billed and failed remotely.
    with pytest.raises(NameError, match="name 'nowhere' is not defined") as info:
        shell.run_cell_magic("fairshare", "", "def later():\n    return defined_below\ndefined_below = 1\nnowhere + x")
    assert isinstance(info.value, errors.FairshareError)
    assert magics.pool.client.jobs() == []


def test_line_magics_run_inside_a_pool_cell(shell, magics, capsys):
    # Failed before the change: NameError: get_ipython.
    shell.run_cell_magic("fairshare", "", "%timeit -n1 -r1 sum(range(10))\nz = 1")
    assert "per loop" in capsys.readouterr().out and shell.user_ns["z"] == 1


def test_input_says_the_cell_has_no_keyboard(shell, magics):
    # Failed before the change: a bare EOFError.
    with pytest.raises(EOFError, match="pool cells have no keyboard; pass the value in a variable") as info:
        shell.run_cell_magic("fairshare", "", "answer = input('name? ')")
    assert "shell.py" not in plain("\n".join(info.value._render_traceback_()))


def test_a_syntax_error_names_the_cell_as_ipython_does(shell, magics):
    # Failed before the change: the error named "<unknown>".
    n = shell.execution_count
    with pytest.raises(Exception, match="invalid syntax") as info:
        shell.run_cell_magic("fairshare", "", "z = 1\nz = = 2")
    assert type(info.value).__name__ == "SyntaxError"
    rendered = plain("".join(info.value._render_traceback_()))
    assert f"Cell In[{n}], line 2" in rendered and "z = = 2" in rendered
    assert magics.pool.client.jobs() == []


def test_a_user_error_renders_as_its_one_sentence(shell, magics):
    # Failed before the change: the error had no _render_traceback_, so IPython drew every frame.
    with pytest.raises(errors.BadRequest) as info:
        shell.run_cell_magic("fairshare", "--in nope", "1")
    assert info.value._render_traceback_() == [f"BadRequest: {info.value}\n"]


def test_help_is_titled_with_the_magic_people_type_and_shows_examples(magics):
    # Failed before the change: the help said %fairshare_cell and had no examples.
    doc = magics.fairshare_cell.__doc__
    assert "%%fairshare [--cpus" in doc and "fairshare_cell" not in doc and "Examples" in doc


def test_a_quoted_name_keeps_no_quote_marks(shell, magics):
    # Failed before the change: the job was named '"grid search"'.
    shell.run_cell_magic("fairshare", '--name "grid search"', "1")
    assert last_job(magics)["name"] == "grid search"


def test_the_kernels_matplotlib_settings_travel_with_a_cell_that_draws(shell, magics):
    # Failed before the change: the job drew with matplotlib's defaults.
    import matplotlib

    before = dict(matplotlib.rcParams)
    try:
        matplotlib.rcParams["lines.linewidth"] = 4.5
        matplotlib.rcParams["axes.grid"] = True
        shell.run_cell_magic(
            "fairshare", "",
            "import matplotlib\nimport matplotlib.pyplot as plt\n"
            "seen = (plt.rcParams['lines.linewidth'], plt.rcParams['axes.grid'])",
        )
        assert shell.user_ns.pop("seen") == (4.5, True)
    finally:
        matplotlib.rcParams.update({k: v for k, v in before.items() if k != "backend"})


def test_a_figure_drawn_at_the_end_is_shown_after_the_value_as_here(shell, magics):
    # Failed before the change: the value came as a display, before the figure.
    shown: list[str] = []
    publish = shell.display_pub.publish

    def record(data, *args, **kwargs):
        shown.append("figure" if "image/png" in data else "display")
        return publish(data, *args, **kwargs)

    shell.display_pub.publish = record
    hook = shell.displayhook.write_format_data
    shell.displayhook.write_format_data = lambda *a, **k: (shown.append("value"), hook(*a, **k))
    try:
        shell.run_cell("%%fairshare\nimport matplotlib.pyplot as plt\nplt.plot([1, 2])\n1 + 1", store_history=True)
    finally:
        del shell.display_pub.publish
        del shell.displayhook.write_format_data
    assert shown == ["value", "figure"]


def test_a_cell_magic_inside_a_pool_cell_gets_the_variables_its_body_reads(shell, magics, capsys):
    # Failed before the change: the body was a string to the analysis, so x and y were not sent.
    shell.run_cell_magic("fairshare", "", "%%capture captured\nprint(x * y)")
    assert shell.user_ns.pop("captured").stdout == "6\n"
    shell.run_cell_magic("fairshare", "", "%%timeit -n1 -r1 w = x + 1\nw * y")
    assert "per loop" in capsys.readouterr().out


def test_a_function_from_a_pool_cell_reads_the_notebooks_globals_as_they_are_now(shell, magics):
    # Failed before the change: the function read the globals it was pickled with (n == 5).
    shell.user_ns["n"] = 5
    try:
        cell = "def size():\n    return n\nclass Sized:\n    def get(self):\n        return n"
        shell.run_cell_magic("fairshare", "", cell)
        shell.user_ns["n"] = 1000
        assert shell.user_ns["size"]() == 1000 and shell.user_ns["Sized"]().get() == 1000
        shell.run_cell_magic("fairshare", "", "n = 7\nseen = (size(), Sized().get())")
        assert shell.user_ns.pop("seen") == (7, 7)
    finally:
        for name in ("n", "size", "Sized"):
            shell.user_ns.pop(name, None)


def test_a_line_magic_in_a_pool_cell_gets_the_variables_its_argument_reads(shell, magics, capsys):
    # Failed before the change: "%timeit f(x)" was a string to the analysis; NameError on the worker.
    shell.user_ns["f"] = abs
    try:
        shell.run_cell_magic("fairshare", "", "%timeit -n1 -r1 f(x)\n%time z = f(y)")
        assert "per loop" in capsys.readouterr().out and shell.user_ns["z"] == 3
    finally:
        shell.user_ns.pop("f", None)
