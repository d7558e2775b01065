"""Scheduling decisions per second with 100,000 queued jobs from 10,000 accounts.

Runs ``benchmarks/bench_scheduling.py --json`` in a subprocess (it carries its own naive
sort-per-decision baseline, measured in the same run) and turns its figures into rows.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import row

HERE = Path(__file__).resolve().parent


def run(quick: bool) -> list[dict]:
    jobs, accounts = 100_000, 10_000  # the goal is stated at this size, so --quick keeps it
    decisions = 5_000 if quick else 20_000
    naive_decisions = 2 if quick else 5  # each naive decision sorts 100k jobs: seconds apiece
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "scheduling.json"
        subprocess.run([sys.executable, str(HERE / "bench_scheduling.py"), "--jobs", str(jobs), "--accounts",
                        str(accounts), "--decisions", str(decisions), "--naive-decisions", str(naive_decisions), "--json", str(out)],
                       check=True, timeout=110, stdout=subprocess.DEVNULL)
        result = json.loads(out.read_text())
    ours, naive = result["scheduler"], result["naive"]
    return [
        row("scheduling decisions/s, 100k queued / 10k accounts", ours["per_second"], naive["per_second"], "/s",
            "naive re-sort of the whole queue per decision", ">= 10,000/s", ours["per_second"] >= 10_000,
            note=(f"{ours['decisions']:,} decisions incl. finished()+enqueue(); decide() alone "
                  f"{ours['decide_only_per_second']:,.0f}/s; naive over {naive['decisions']} decisions; "
                  f"Jain {result['jain_index']:.3f}, newcomer share {result['newcomer_share']:.3f}")),
    ]


if __name__ == "__main__":
    for r in run("--quick" in sys.argv):
        print(r)
