"""Two public notebooks run locally and with ``%%fairshare`` on every cell give the same cells.

The full corpus runs in ``benchmarks/bench_notebooks.py``; this is the suite's short version
(two notebooks, 67 code cells, about 20 s). The rules are in ``docs/notebook-fidelity.md``.
"""

from __future__ import annotations

import time

import pytest

from tests.notebook import differential

pytest.importorskip("numpy")

SUBSET = ["aom-part0.ipynb", "pdsh-numpy-basics.ipynb"]

# The floor: cells identical on SUBSET as measured on branch f12-diff from main at 38218f0
# (2026-12-01, before the fidelity fixes of issue 12): aom-part0 10/16, pdsh-numpy-basics
# 20/51, 30 of 67 cells (44.8%). The differences were arrays coming back read-only and the
# assignments that then fail. Raise it as fixes land; the goal is 99%.
FLOOR_IDENTICAL = 30


@pytest.fixture
def env(pool_server):
    token = pool_server.add_account(f"differential-{time.monotonic_ns()}", credits=1e6)
    return differential.kernel_env(pool_server.url, token)


def test_fairshare_cells_give_what_local_cells_give_on_two_public_notebooks(env):
    comparisons = [differential.compare_notebook(differential.CORPUS / name, "--memory 500MB", env)
                   for name in SUBSET]
    identical = sum(c.identical for c in comparisons)
    cells = sum(c.cells for c in comparisons)
    assert cells == 67, "the subset's notebooks changed; measure the floor again"
    report = differential.summary(comparisons)
    first = next((d for c in comparisons for d in c.differences), None)
    assert identical >= FLOOR_IDENTICAL, f"fewer cells identical than before:\n{report}\nfirst difference: {first}"


def test_the_comparison_sees_a_difference_a_remote_cell_would_cause():
    """The instrument itself: a part both local runs agree on and the other run does not is
    counted, a part the local runs disagree on is excluded."""
    cell = differential.CellResult

    def run(x: str, noise: str) -> list:
        return [cell(0, "x = ...", {"stdout": noise, "var x": x, "error": None})]

    same = differential.compare("n", [run("1", "a"), run("1", "a"), run("1", "b")], run("1", "c"), {})
    assert (same.identical, same.masked_parts) == (1, 1)
    changed = differential.compare("n", [run("1", "a"), run("1", "a")], run("2", "a"), {})
    assert changed.identical == 0 and changed.differences[0]["parts"] == {"var x": {"local": "1", "remote": "2"}}


def test_cells_that_configure_the_kernel_run_as_they_are():
    assert differential.remote_source("%matplotlib inline\n# figures", "") is None
    assert differential.remote_source("   \n", "") is None
    assert differential.remote_source("%%timeit\nsum(range(9))", "--memory 1GB") == (
        "%%fairshare --memory 1GB\n%%timeit\nsum(range(9))")
    assert differential.remote_source("%matplotlib inline\nimport numpy", "").startswith("%%fairshare\n")
