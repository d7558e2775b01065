"""``%%fairshare`` cells against ipyparallel's ``%%px`` and Dask, driven through IPython.

1. An empty cell (``pass``): ``%%fairshare`` on a pool with 1 worker against ``%%px`` on
   ipyparallel's ``Cluster(n=1)``, both through ``InteractiveShell.run_cell_magic`` in this
   process; median of 100 (30 with --quick) after 5 warm-up cells. Beside it, the CPU time
   the whole machine spent per cell (``/proc/stat``), which on 2 cores bounds the latency.
2. A cell that reads a float64 array of 1 GiB (256 MiB with --quick) and returns its sum:
   ``%%fairshare`` against a plain ``memcpy`` of the array (``np.copyto``, the floor for
   moving it once) and Dask ``scatter`` + ``submit(np.sum)`` on a 1-worker LocalCluster.
   Peak extra memory is the peak of the summed RSS of this process and all its descendants
   (the pool, its workers, the Dask cluster), sampled every 10 ms, minus the sum just before.
3. Cells as notebooks have them, each through ``%%fairshare`` against the same cell run
   locally (``InteractiveShell.run_cell``) in the same run: a groupby-mean of a 1,000-row
   DataFrame made in the kernel, and a LogisticRegression fit on load_iris; median of 30 (10
   with --quick) after 5 warm-up cells each way.
4. ``pool.compute`` of a small dask.array sum (10,000 elements in 10 chunks) against
   ``dask.compute(..., scheduler="sync")``; median of 30 (10) after 3 warm-ups each way.
"""

from __future__ import annotations

import os
import sys
import threading
import time

from _common import median, pool, row


class PeakRSS:
    """Samples the summed RSS of this process and all its descendants in a thread."""

    def __init__(self, interval: float = 0.01) -> None:
        import psutil

        self.me = psutil.Process()
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()

    def total(self) -> int:
        import psutil

        total = 0
        for proc in [self.me, *self.me.children(recursive=True)]:
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                pass
        return total

    def __enter__(self):
        self.base = self.total()
        self.peak = self.base
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.total())
            time.sleep(self.interval)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.total())

    @property
    def extra_mib(self) -> float:
        return (self.peak - self.base) / 2**20


def _busy_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy (Linux ``/proc/stat``), or None elsewhere."""
    try:
        with open("/proc/stat") as handle:
            fields = [int(x) for x in handle.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _time_cells(shell, magic: str, line: str, cell: str, n: int) -> tuple[list[float], float | None]:
    """Seconds per cell after 5 warm-up cells, and the machine's CPU seconds per cell (all
    processes: this one, the pool or controller, the workers or engine, job processes)."""
    times = []
    for i in range(n + 5):
        if i == 5:
            busy = _busy_seconds()
        t = time.perf_counter()
        shell.run_cell_magic(magic, line, cell)
        if i >= 5:
            times.append(time.perf_counter() - t)
    after = _busy_seconds()
    return times, (after - busy) / n if busy is not None and after is not None else None


def _ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:.1f} ms"


def _warm_median(action, repeat: int = 3) -> float:
    """Median seconds of ``repeat`` runs after one untimed warm-up run.

    The warm-up matters on a virtual machine: the first touch of never-used guest memory
    costs several times a later touch, and each side would otherwise pay it by chance.
    """
    action()
    times = []
    for _ in range(repeat):
        begun = time.perf_counter()
        action()
        times.append(time.perf_counter() - begun)
    return median(times)


PANDAS_SETUP = """
import numpy as np
import pandas as pd
rng = np.random.default_rng(0)
frame = pd.DataFrame({"key": rng.integers(0, 10, 1000), "value": rng.random(1000)})
"""
PANDAS_CELL = 'means = frame.groupby("key")["value"].mean()'
SKLEARN_SETUP = """
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
X, y = load_iris(return_X_y=True)
"""
SKLEARN_CELL = "model = LogisticRegression(max_iter=1000).fit(X, y)"


def _local_cells(shell, cell: str, n: int) -> list[float]:
    """Seconds per cell run locally by IPython, after 5 warm-up cells, as a notebook runs it."""
    times = []
    for i in range(n + 5):
        begun = time.perf_counter()
        result = shell.run_cell(cell, store_history=False)
        if i >= 5:
            times.append(time.perf_counter() - begun)
        result.raise_error()
    return times


def _cells_both_ways(shell, setup: str, cell: str, line: str, n: int) -> tuple[float | None, float, str]:
    """Median ms of ``cell`` through %%fairshare and locally; ours is None (with why) if it failed."""
    shell.run_cell(setup, store_history=False).raise_error()
    local = median(_local_cells(shell, cell, n)) * 1000
    try:
        ours = median(_time_cells(shell, "fairshare", line, cell, n)[0]) * 1000
    except Exception as exc:  # reported in the table, the other measures still run
        return None, local, f"FAILED: {type(exc).__name__}: {str(exc)[:200]}. "
    return ours, local, ""


def _compute_both_ways(pool_url: str, token: str, n: int) -> tuple[float | None, float, str]:
    """Median ms of ``pool.compute`` of a small dask.array sum and of Dask's sync scheduler."""
    import dask
    import dask.array as da

    import jupyter_fairshare as fs

    total = da.ones(10_000, chunks=1_000).sum()

    def timed(action, warm: int = 3) -> list[float]:
        times = []
        for i in range(n + warm):
            begun = time.perf_counter()
            assert action() == 10_000
            if i >= warm:
                times.append(time.perf_counter() - begun)
        return times

    local = median(timed(lambda: dask.compute(total, scheduler="sync")[0])) * 1000
    try:
        with fs.connect(pool_url, token) as remote:
            ours = median(timed(lambda: remote.compute(total))) * 1000
    except Exception as exc:  # reported in the table, the other measures still run
        return None, local, f"FAILED: {type(exc).__name__}: {str(exc)[:200]}. "
    return ours, local, ""


def run(quick: bool) -> list[dict]:
    import numpy as np
    from IPython.core.interactiveshell import InteractiveShell

    n = 30 if quick else 100
    size = (256 if quick else 1024) * 2**20
    shell = InteractiveShell.instance()
    line = "--memory 100MB --max-cost 0.05"
    rows = []
    with pool(workers=1) as p:
        token = p.add_account("cell", "standard", credits=1e6)
        os.environ["FAIRSHARE_URL"], os.environ["FAIRSHARE_TOKEN"] = p.url, token
        shell.run_line_magic("load_ext", "jupyter_fairshare")
        shell.run_line_magic("fairshare", f"connect {p.url} --token {token}")
        ours_empty, ours_cpu = _time_cells(shell, "fairshare", line, "pass", n)
        cells_n = 10 if quick else 30
        cell_line = "--memory 500MB --max-cost 0.5"
        pandas_ms = _cells_both_ways(shell, PANDAS_SETUP, PANDAS_CELL, cell_line, cells_n)
        try:
            sklearn_ms = _cells_both_ways(shell, SKLEARN_SETUP, SKLEARN_CELL, cell_line, cells_n)
        except ImportError:
            sklearn_ms = None
            print("scikit-learn is not installed; the sklearn row is skipped", file=sys.stderr)
        compute_ms = _compute_both_ways(p.url, token, cells_n)

        data = np.ones(size // 8)
        shell.user_ns["data"] = data
        big_line = f"--memory {3 * size // 10**6 + 500}MB --max-cost 1"
        big_error = None
        with PeakRSS() as mem:
            try:
                ours_big = _warm_median(lambda: shell.run_cell_magic("fairshare", big_line, "s = data.sum()"))
            except Exception as exc:  # reported in the table, the other measures still run
                log = [ln for ln in p.log.read_text(errors="replace").splitlines() if any(w in ln for w in ("Error", "too big", "Exception"))]
                big_error = f"{type(exc).__name__}: {exc}" + (f" (pool log: {log[-1].strip()[:200]})" if log else "")
        if big_error is None and shell.user_ns.get("s") != float(size // 8):
            raise RuntimeError(f"%%fairshare returned s = {shell.user_ns.get('s')!r}")
        ours_mem = mem.extra_mib
        if big_error is not None:
            ours_big = ours_mem = None
        shell.user_ns.pop("s", None)
        del shell.user_ns["data"]
    os.environ.pop("FAIRSHARE_URL", None), os.environ.pop("FAIRSHARE_TOKEN", None)

    px_empty = px_cpu = None
    try:
        import ipyparallel as ipp

        cluster = ipp.Cluster(n=1, log_level=40)
        try:
            client = cluster.start_and_connect_sync()
            client.wait_for_engines(1, timeout=60)
            view = client[:]
            view.block = True  # %%px waits for the engine's answer, as in a notebook
            view.activate()  # registers %%px on the current shell
            px_empty, px_cpu = _time_cells(shell, "px", "", "pass", n)
            client.close()
        finally:
            cluster.stop_cluster_sync()
    except ImportError:
        print("ipyparallel is not installed; install the 'bench' extra", file=sys.stderr)

    memcpy = _warm_median(lambda: np.copyto(np.empty_like(data), data))

    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0",
                      memory_limit=0) as cluster, Client(cluster) as client:
        client.submit(int, pure=False).result()
        def scatter_and_sum() -> None:
            future = client.scatter(data, direct=True)
            assert client.submit(np.sum, future, pure=False).result() == float(size // 8)
            del future

        with PeakRSS() as dmem:
            dask_big = _warm_median(scatter_and_sum)

    if px_empty is not None:
        o, x = median(ours_empty) * 1000, median(px_empty) * 1000
        rows.append(row("empty %%fairshare cell vs %%px (1 engine), median", o, x, "ms", "ipyparallel %%px",
                        "at most 0.5x %%px", o <= 0.5 * x, higher_is_better=False,
                        note=f"{n} cells each, through InteractiveShell.run_cell_magic; pool with 1 worker; "
                             f"CPU per cell, all processes: %%fairshare {_ms(ours_cpu)}, %%px {_ms(px_cpu)}"))
    cells_note = (f"median of {cells_n} cells each way after 5 warm-ups, the local one by InteractiveShell.run_cell "
                  f"in the same process; pool with 1 worker")
    for name, measured, code in (("pandas groupby-mean cell (1,000-row DataFrame)", pandas_ms, PANDAS_CELL),
                                 ("sklearn LogisticRegression fit cell (iris)", sklearn_ms, SKLEARN_CELL)):
        if measured is None:
            continue
        ours, local, failed = measured
        rows.append(row(f"{name} vs local, median", ours, local, "ms", "the same cell run locally",
                        "at most local + 50 ms", None if ours is None else ours <= local + 50, higher_is_better=False,
                        note=f"{failed}`{code}`; {cells_note}"))
    ours, local, failed = compute_ms
    rows.append(row("pool.compute of a small dask.array sum vs scheduler=\"sync\", median", ours, local, "ms",
                    "dask.compute(scheduler=\"sync\")", "at most 5x", None if ours is None else ours <= 5 * local,
                    higher_is_better=False,
                    note=f"{failed}da.ones(10_000, chunks=1_000).sum(), median of {cells_n} after 3 warm-ups each way"))
    label = f"{size // 2**20} MiB"
    mem_note = "failed" if ours_mem is None else f"{ours_mem:,.0f} MiB"
    ok = big_error is None
    rows += [
        row(f"cell summing a {label} float64 array vs memcpy", ours_big, memcpy, "s", "np.copyto into fresh memory",
            "at least half of memcpy's throughput (<= 2x its time)", ok and ours_big <= 2 * memcpy,
            higher_is_better=False,
            note=(f"FAILED: {big_error}. " if big_error else "") +
                 f"Peak extra RSS, all processes: %%fairshare {mem_note}, Dask scatter+submit "
                 f"{dmem.extra_mib:,.0f} MiB (array {size / 2**20:,.0f} MiB)"),
        row(f"cell summing a {label} float64 array vs Dask", ours_big, dask_big, "s", "Dask scatter+submit(np.sum)",
            "at least 2x Dask scatter (<= 0.5x its time)", ok and ours_big <= 0.5 * dask_big, higher_is_better=False),
        row(f"peak extra memory, {label} cell", ours_mem, dmem.extra_mib, "MiB", "Dask scatter+submit",
            "<= 2 GiB across all processes", ok and ours_mem <= 2048, higher_is_better=False),
    ]
    return rows


if __name__ == "__main__":
    for r in run("--quick" in sys.argv):
        print(r)
