"""%%fairshare in a real Jupyter kernel: a notebook run through nbclient against a real pool."""

from __future__ import annotations

import os
import re
import time

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel
from nbclient import NotebookClient

CELLS = [
    "%load_ext jupyter_fairshare",
    "x = 21",
    (
        "%%fairshare --name first\n"
        "import sys\n"
        "print('one')\n"
        "print('two', file=sys.stderr)\n"
        "print('three')\n"
        "y = x * 2\n"
        "from IPython.display import HTML, display\n"
        "display(HTML('<b>remote bold</b>'))\n"
        "y + 1"
    ),
    "print('y is', y)",
    (
        "%%fairshare\n"
        "import matplotlib.pyplot as plt\n"
        "plt.plot([1, 2, 3], [3, 1, 2])\n"
        "plt.title('made remotely')"
    ),
    "%%fairshare\ndef broken(v):\n    return v / 0\nbroken(x)",
]


@pytest.fixture
def kernel_env(pool_server, request):
    token = pool_server.add_account(f"kernel-{time.monotonic_ns()}")
    return {**os.environ, "FAIRSHARE_URL": pool_server.url, "FAIRSHARE_TOKEN": token,
            "MPLBACKEND": "module://matplotlib_inline.backend_inline"}


def _texts(cell, stream):
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream" and o.name == stream)


def test_a_notebook_runs_its_fairshare_cells_remotely_and_gets_back_what_a_local_run_gives(kernel_env, monkeypatch):
    for key, value in kernel_env.items():
        monkeypatch.setenv(key, value)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in CELLS])
    NotebookClient(notebook, timeout=180, kernel_name="python3", allow_errors=True).execute()
    remote, local, plot, failing = notebook.cells[2], notebook.cells[3], notebook.cells[4], notebook.cells[5]

    stdout = _texts(remote, "stdout")
    assert stdout.index("one") < stdout.index("three")
    assert "two" in _texts(remote, "stderr")
    bundles = [o["data"] for o in remote.outputs if o.output_type in ("display_data", "execute_result")]
    assert any("<b>remote bold</b>" in b.get("text/html", "") for b in bundles)
    assert any(b.get("text/plain") == "43" for b in bundles)

    assert "y is 42" in _texts(local, "stdout")
    assert any("image/png" in o.get("data", {}) for o in plot.outputs)

    errors = [o for o in failing.outputs if o.output_type == "error"]
    assert len(errors) == 1 and errors[0].ename == "ZeroDivisionError"
    traceback = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(errors[0].traceback))  # as IPython colours it
    assert "broken" in traceback and "return v / 0" in traceback


def test_interrupting_the_kernel_cancels_the_remote_job(kernel_env, pool_server):
    manager, client = start_new_kernel(kernel_name="python3", env=kernel_env)
    try:
        client.execute_interactive("%load_ext jupyter_fairshare", timeout=60)
        client.execute("%%fairshare --name sleeper\nimport time\ntime.sleep(60)")
        with pool_server.client(kernel_env["FAIRSHARE_TOKEN"]) as http:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                jobs = http.get("/api/v1/jobs").json()["jobs"]
                if jobs and jobs[0]["state"] == "running":
                    break
                time.sleep(0.1)
            assert jobs[0]["name"] == "sleeper" and jobs[0]["state"] == "running"
            manager.interrupt_kernel()
            reply = client.get_shell_msg(timeout=30)
            assert reply["content"]["status"] == "error"
            deadline = time.monotonic() + 10
            while http.get(f"/api/v1/jobs/{jobs[0]['id']}").json()["state"] != "cancelled":
                assert time.monotonic() < deadline, "the remote job was not cancelled"
                time.sleep(0.1)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
