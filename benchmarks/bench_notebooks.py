"""The share of notebook cells that give exactly what a local run gives, over the whole corpus.

Each notebook of ``tests/data/notebooks`` (16 public notebooks from eight projects) runs three
times locally and once with ``%%fairshare`` on each code cell, in fresh kernels through nbclient,
against a pool with 2 workers; ``tests/notebook/differential.py`` compares them cell by cell
(rules in ``docs/notebook-fidelity.md``). ``--quick`` runs the suite's two notebooks only.
Set FAIRSHARE_BENCH_DIFF=path.json to keep every difference found, for reading.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from _common import pool, row

from tests.notebook import differential

QUICK = ["aom-part0.ipynb", "pdsh-numpy-basics.ipynb"]


@contextmanager
def _inside(directory: str):
    """Work in ``directory`` for the block, then where we were."""
    before = os.getcwd()
    os.chdir(directory)
    try:
        yield
    finally:
        os.chdir(before)


def run(quick: bool) -> list[dict]:
    names = QUICK if quick else sorted(p.name for p in differential.CORPUS.glob("*.ipynb"))
    comparisons = []
    begun = time.perf_counter()
    # jobs run in the pool's working directory, so the files notebooks write go to a scratch one
    with tempfile.TemporaryDirectory(prefix="fs-bench-cwd-") as scratch, _inside(scratch), pool(workers=2) as p:
        env = differential.kernel_env(p.url, p.add_account("notebooks", credits=1e9))
        for name in names:
            try:
                comparison = differential.compare_notebook(differential.CORPUS / name, "--memory 500MB", env,
                                                           local_runs=3)
            except Exception as exc:  # one notebook that cannot run is reported, the others still run
                print(f"{name}: {type(exc).__name__}: {exc}", file=sys.stderr)
                continue
            comparisons.append(comparison)
            print(f"   {name}: {comparison.identical}/{comparison.cells} identical", file=sys.stderr, flush=True)
    keep = os.environ.get("FAIRSHARE_BENCH_DIFF")
    if keep:
        Path(keep).write_text(json.dumps([c.__dict__ for c in comparisons], indent=1, default=str))
    cells = sum(c.cells for c in comparisons)
    share = 100 * sum(c.identical for c in comparisons) / cells if cells else None
    local = sum(c.seconds["local"] for c in comparisons)
    remote = sum(c.seconds["fairshare"] for c in comparisons)
    per_notebook = "; ".join(f"{c.notebook} {c.identical}/{c.cells}" for c in comparisons)
    missing = sorted(set(names) - {c.notebook for c in comparisons})
    note = (f"{len(comparisons)} notebooks, {cells} code cells, each run three times locally and once with %%fairshare "
            f"(parts the local runs disagree on are not compared); per notebook: {per_notebook}. "
            f"Whole notebooks: local {local:.0f} s, %%fairshare {remote:.0f} s; the run took "
            f"{time.perf_counter() - begun:.0f} s" + (f". Could not run: {', '.join(missing)}" if missing else ""))
    return [row("notebook cells identical to a local run", share, 100.0, "%", "a local run", "at least 99%",
                None if share is None else share >= 99 and not missing, note=note, ratio=None)]


if __name__ == "__main__":
    for r in run("--quick" in sys.argv):
        print(r)
