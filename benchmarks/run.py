"""Run the benchmarks, each against its peer in the same run, and write docs/benchmarks.md.

    .venv/bin/python benchmarks/run.py [--only NAME ...] [--quick] [--no-write]

NAME is one of: submit, scheduling, roundtrip, fairness, cell, sidebar, notebooks. Each part is a module
``benchmarks/bench_<name>.py`` with ``run(quick) -> list[dict]`` (rows made by
``_common.row``). The table is printed and, unless --no-write or --only is given,
docs/benchmarks.md is rewritten with it and a description of the machine.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

PARTS = {
    "submit": "bench_submit",
    "scheduling": "bench_scheduling_run",
    "roundtrip": "bench_roundtrip",
    "fairness": "bench_fairness",
    "cell": "bench_cell",
    "sidebar": "bench_sidebar",
    "notebooks": "bench_notebooks",
}


def machine() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024**2:.1f} GiB"
    except OSError:
        pass
    versions = {}
    for name in ("jupyter-fairshare", "dask", "distributed", "fastapi", "uvicorn", "sqlalchemy", "httpx",
                 "ipyparallel", "numpy"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return {"nproc": os.cpu_count(), "memory": memory, "cpu": cpu, "python": platform.python_version(),
            "platform": platform.platform(), "versions": versions,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg())}


def fmt(value, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit in ("ms", "s"):
        return f"{value:,.3f} {unit}" if value < 10 else f"{value:,.1f} {unit}"
    if unit == "MiB":
        return f"{value:,.0f} MiB"
    if value >= 100:
        return f"{value:,.0f}{unit}"
    return f"{value:,.2f}{unit}"


def table(rows: list[dict]) -> str:
    lines = ["| benchmark | ours | peer | ratio (ours/peer) | goal | met? |", "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        ratio = "n/a" if r.get("ratio") is None else (f"{r['ratio']:,.2f}x" if r["ratio"] < 100 else f"{r['ratio']:,.0f}x")
        met = {True: "yes", False: "**no**", None: "n/a"}[r.get("met")]
        peer = f"{fmt(r.get('peer'), r['unit'])} ({r['peer_name']})" if r.get("peer_name") else fmt(r.get("peer"), r["unit"])
        lines.append(f"| {r['benchmark']} | {fmt(r.get('ours'), r['unit'])} | {peer} | {ratio} | {r['goal']} | {met} |")
    return "\n".join(lines)


def notes(rows: list[dict]) -> str:
    return "\n".join(f"- **{r['benchmark']}**: {r['note']}" for r in rows if r.get("note"))


def document(rows: list[dict], info: dict, quick: bool, elapsed: float, failures: list[str]) -> str:
    v = info["versions"]
    failed = "".join(f"\n- {f}" for f in failures)
    return f"""# Benchmarks

Measured by `.venv/bin/python benchmarks/run.py{' --quick' if quick else ''}` on {info['date']}
({elapsed:.0f} s in all). Every figure is measured side by side with its peer in the same run, on the
same machine; this file is rewritten by each run. A goal that is not met says **no**.

## Machine

- CPUs (`nproc`): {info['nproc']}; memory: {info['memory']}; CPU: {info['cpu']}
- load average at the end of the run: {info['loadavg']} (the machine is shared; figures are noisy)
- Python {info['python']} on {info['platform']}
- jupyter-fairshare {v['jupyter-fairshare']}, dask {v['dask']}, distributed {v['distributed']},
  fastapi {v['fastapi']}, uvicorn {v['uvicorn']}, SQLAlchemy {v['sqlalchemy']}, httpx {v['httpx']},
  ipyparallel {v['ipyparallel']}, numpy {v['numpy']}

## Results

{table(rows)}

## How each figure is measured

{notes(rows)}
{('## Parts that failed in this run' + failed) if failures else ''}
## Reproduce

```bash
.venv/bin/pip install -e '.[bench]'
.venv/bin/python benchmarks/run.py            # all parts, full size (a few minutes)
.venv/bin/python benchmarks/run.py --quick    # smaller workloads
.venv/bin/python benchmarks/run.py --only submit roundtrip
```
"""


def main() -> int:
    parser = argparse.ArgumentParser(description="Run the jupyter-fairshare benchmarks against their peers.")
    parser.add_argument("--only", nargs="+", choices=list(PARTS), metavar="NAME", help=f"parts to run: {', '.join(PARTS)}")
    parser.add_argument("--quick", action="store_true", help="smaller workloads and shorter windows")
    parser.add_argument("--no-write", action="store_true", help="do not rewrite docs/benchmarks.md")
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    args = parser.parse_args()
    names = args.only or list(PARTS)
    rows: list[dict] = []
    failures: list[str] = []
    begin = time.perf_counter()
    for name in names:
        t = time.perf_counter()
        print(f"== {name} ...", file=sys.stderr, flush=True)
        try:
            part = importlib.import_module(PARTS[name])
            got = part.run(args.quick)
        except Exception as exc:  # a failed part is reported, the others still run
            traceback.print_exc()
            failures.append(f"{name}: {type(exc).__name__}: {exc}")
            continue
        rows.extend(got)
        print(f"   {name} took {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - begin
    print(table(rows))
    if failures:
        print("\nFailed parts:\n" + "\n".join(failures))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2, default=str))
    if not args.no_write and not args.only:
        out = ROOT / "docs" / "benchmarks.md"
        out.write_text(document(rows, machine(), args.quick, elapsed, failures))
        print(f"\nwrote {out.relative_to(ROOT)}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
