"""The job process's IPython shell, run in this process as the job process runs it."""

from __future__ import annotations

import os
import subprocess
import sys

from jupyter_fairshare import wire
from jupyter_fairshare.execution.job.tasks import run_cell
from jupyter_fairshare.wire import CellTask


def test_making_the_shell_starts_no_thread_so_the_zygote_can_fork():
    check = (
        "import threading\n"
        "from jupyter_fairshare.execution.job.shell import SHELL\n"
        "assert SHELL.history_manager.save_thread is None\n"
        "assert threading.active_count() == 1, threading.enumerate()\n"
    )
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_each_cell_starts_from_a_fresh_namespace_as_a_fresh_process_would():
    run_cell(CellTask("left_behind = 1\n_i_saw = 2"))
    outcome = run_cell(CellTask("'left_behind' in dir()"))
    assert outcome.ok and outcome.value is False


def test_the_value_comes_back_and_a_semicolon_before_a_comment_hides_it():
    assert run_cell(CellTask("a = 2\na * 3")).value == 6
    outcome = run_cell(CellTask("a = 2\na * 3;  # hidden"))
    assert outcome.ok and outcome.value is None and outcome.displays == []


def test_what_a_cell_assigned_before_it_raised_comes_back_with_the_exception():
    outcome = run_cell(CellTask("b = 1\nxs.append(b)\nraise ValueError('late')", inputs={"xs": []},
                                outputs=["b", "xs", "c"], execution_count=4))
    assert not outcome.ok and outcome.error_type == "ValueError" and isinstance(outcome.exception, ValueError)
    assert outcome.outputs == {"b": 1, "xs": [1]}
    text = "\n".join(outcome.traceback)
    assert "Cell In[4], line 3" in text and "jupyter_fairshare" not in text


def test_deleted_inputs_are_reported_and_rebound_ones_are_not():
    outcome = run_cell(CellTask("del gone, back\nback = 2", inputs={"gone": 1, "back": 1}, outputs=["gone", "back"]))
    assert outcome.deleted == ["gone"] and outcome.outputs == {"back": 2}


def test_a_remote_syntax_error_is_named_as_ipython_names_it():
    outcome = run_cell(CellTask("ok = 1\nx = = 1", execution_count=9))
    assert outcome.error_type == "SyntaxError" and "Cell In[9], line 2" in "".join(outcome.traceback)


def test_line_magics_and_get_ipython_work_in_the_cell():
    outcome = run_cell(CellTask("%timeit -n1 -r1 pass\nget_ipython() is not None"))
    assert outcome.ok and outcome.value is True


def test_input_explains_that_the_cell_has_no_keyboard():
    outcome = run_cell(CellTask("name = input('who? ')"))
    assert outcome.error_type == "EOFError"
    assert outcome.error_message == "pool cells have no keyboard; pass the value in a variable"
    assert "shell.py" not in "\n".join(outcome.traceback)


def test_inline_figures_come_after_the_value_as_in_a_notebook():
    outcome = run_cell(CellTask("%matplotlib inline\nimport matplotlib.pyplot as plt\nplt.plot([1, 2])\n'v'"))
    assert outcome.ok and outcome.value == "v"
    assert outcome.value_at == 0 and [sorted(b["data"]) for b in outcome.displays] == [["image/png", "text/plain"]]


def test_the_kernels_matplotlib_settings_replace_the_last_cells():
    run_cell(CellTask("import matplotlib", rc={"lines.linewidth": 7.0}))
    outcome = run_cell(CellTask("import matplotlib\n(matplotlib.rcParams['lines.linewidth'],"
                                " matplotlib.rcParams['axes.grid'])", rc={"axes.grid": True}))
    import matplotlib

    assert outcome.value == (matplotlib.rcParamsDefault["lines.linewidth"], True)
    run_cell(CellTask("pass", rc={}))


def test_the_new_fields_travel_in_the_wire_format():
    task = CellTask("1", execution_count=3, colors="linux", rc={"axes.grid": True})
    assert wire.loads(wire.dumps(task)) == task
    outcome = run_cell(CellTask("del a", inputs={"a": 1}, outputs=["a"]))
    assert wire.loads(wire.dumps(outcome)).deleted == ["a"]


def test_a_job_draws_with_a_notebooks_inline_backend():
    # Failed before the change: the job drew with Agg, so get_backend() and plt.show() differed.
    check = (
        "from jupyter_fairshare.execution.job.tasks import run_cell\n"
        "from jupyter_fairshare.wire import CellTask\n"
        "o = run_cell(CellTask('import matplotlib.pyplot as plt\\nplt.plot([1])\\nplt.show()\\n"
        "import matplotlib\\nmatplotlib.get_backend()'))\n"
        "assert o.value == 'module://matplotlib_inline.backend_inline', o.value\n"
        "assert [sorted(b['data']) for b in o.displays] == [['image/png', 'text/plain']], o.displays\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr


def test_a_function_sent_in_reads_the_cells_namespace_and_brings_its_globals():
    namespace: dict = {}
    exec("k = 3\ndef scaled(v):\n    return v * k\n", namespace)
    scaled = wire.loads(wire.dumps(namespace["scaled"]))  # as the kernel sends it
    scaled.__module__ = "__main__"
    outcome = run_cell(CellTask("before = scaled(1)\nk = 10\nafter = scaled(1)", inputs={"scaled": scaled},
                                outputs=["before", "after"]))
    assert outcome.outputs == {"before": 3, "after": 10}
