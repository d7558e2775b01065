"""Latency from a job's state change in the pool to the sidebar showing it, in a real browser.

A real JupyterLab with the extension, Debian's Chromium driven by Playwright, a real pool.
Jobs are submitted straight to the pool; a MutationObserver in the page stamps the moment
each job row's state text changes, and that stamp is compared with the pool's own record
of the change (``started_at``, ``finished_at``; one clock, one machine). The peers named
in the issue poll: jupyterlab-slurm every 60 s and sparkmagic backing off to 5 s; a poller
of period P shows a change after P/2 on average and 0.95 P at p95, which is the figure
they are compared with here (a formula, not a run: they need a Slurm or Livy server).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from _common import percentile, pool, row

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import submit, wait_for  # noqa: E402
from tests.e2e.lab import browser, jupyterlab, open_sidebar  # noqa: E402

OBSERVER = """
() => {
  window.__fsSeen = [];
  const seen = (node) => {
    const row = node.closest && node.closest('[data-job-id]');
    const state = row && row.querySelector('[data-testid="fairshare-job-state"]');
    if (state) window.__fsSeen.push([row.dataset.jobId, state.textContent.trim(), Date.now() / 1000]);
  };
  new MutationObserver((records) => {
    for (const r of records) {
      const target = r.target.nodeType === 3 ? r.target.parentElement : r.target;
      if (target) { seen(target); target.querySelectorAll && target.querySelectorAll('[data-job-id]').forEach(seen); }
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}
"""


def run(quick: bool) -> list[dict]:
    jobs_n = 10 if quick else 30
    with pool(workers=2) as p, tempfile.TemporaryDirectory() as tmp:
        token = p.add_account("sidebar", credits=1e6)
        with jupyterlab(Path(tmp), p.url, token, Path(tmp) / "lab.log") as (url, secret), browser() as page:
            page.goto(f"{url}/lab?token={secret}")
            open_sidebar(page)
            page.wait_for_selector('[data-testid="fairshare-pool"]', timeout=60_000)
            page.evaluate(OBSERVER)
            with p.client(token) as http:
                ids = []
                for _ in range(jobs_n):
                    ids.append(submit(http, time.sleep, 0.3).json()["id"])
                    time.sleep(0.4)
                records = {job_id: wait_for(http, job_id) for job_id in ids}
            time.sleep(1.0)
            seen = page.evaluate("() => window.__fsSeen")
    first: dict[tuple[str, str], float] = {}
    for job_id, state, stamp in seen:
        first.setdefault((job_id, state), stamp)
    latencies = []
    for job_id, job in records.items():
        for state, at in (("running", job["started_at"]), ("done", job["finished_at"])):
            if (job_id, state) in first:
                latencies.append(first[(job_id, state)] - at)
    p50, p95 = percentile(latencies, 50) * 1000, percentile(latencies, 95) * 1000
    note = f"{len(latencies)} state changes of {jobs_n} jobs seen in the browser"
    return [
        row("sidebar: state change to screen, p95", p95, 0.95 * 5000, "ms", "a 5 s poller (sparkmagic's floor)",
            "p95 < 300 ms", p95 < 300, higher_is_better=False, note=note),
        row("sidebar: state change to screen, p50", p50, 0.5 * 5000, "ms", "a 5 s poller", "(reported)", None,
            higher_is_better=False),
    ]
