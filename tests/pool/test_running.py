"""The run loop against a real pool process: where a notebook's cells run."""

from __future__ import annotations

import time

import pytest

from jupyter_fairshare import wire
from tests.conftest import submit, wait_for


def count_in_module() -> tuple[int, int]:
    """What a cell that keeps state in a module sees: its process and how many cells ran there."""
    import json
    import os

    json.fairshare_cells = getattr(json, "fairshare_cells", 0) + 1  # type: ignore[attr-defined]
    return os.getpid(), json.fairshare_cells  # type: ignore[attr-defined]


def result(client, job_id):
    wait_for(client, job_id)
    return wire.loads(client.get(f"/api/v1/jobs/{job_id}/result").content).value


@pytest.mark.parametrize("notebook", ["analysis.ipynb", None], ids=["named-notebook", "kernel-outside-jupyter"])
def test_a_notebooks_cells_keep_their_module_state_with_other_accounts_jobs_running_in_between(pool_server, notebook):
    """Eight cells of one notebook on a pool of two workers (a kernel outside Jupyter names no
    notebook: its cells go by the account). Before every other cell another
    account's job holds the first worker while the cell runs; the other cells find the pool
    idle, where the first worker would be the natural choice. Every cell still runs in the
    process of the one before, so what it set in a module is there."""
    alice = pool_server.client(pool_server.add_account(f"notebook-{time.monotonic_ns()}"))
    bob = pool_server.client(pool_server.add_account(f"neighbour-{time.monotonic_ns()}"))
    seen = []
    with alice, bob:
        for i in range(8):
            other = None
            if i % 2 == 0:  # the other account's job takes the first worker in the placement order
                other = submit(bob, time.sleep, 1.5).json()["id"]
                wait_for(bob, other, states=("running", "done"))  # done: a slow poll missed it running
            cell = submit(alice, count_in_module, **({"notebook": notebook} if notebook else {})).json()["id"]
            seen.append(result(alice, cell))
            if other is not None:
                assert wait_for(bob, other)["state"] == "done"
    assert [count for _, count in seen] == list(range(1, 9)), seen
    assert len({pid for pid, _ in seen}) == 1
