"""``python -m jupyter_fairshare.demo [start|stop|status] [--data-dir D]``.

``start`` (the default) prints only ``export`` lines on stdout, so a shell can adopt them
with ``eval "$(python -m jupyter_fairshare.demo)"``; what a person should read goes to
stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .launch import (
    SIMULATED,
    USER,
    demo_dir,
    ensure_demo,
    export_lines,
    running,
    stop_demo,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jupyter_fairshare.demo",
                                     description="Run a small demo pool with two sites and simulated neighbours.")
    parser.add_argument("action", nargs="?", default="start", choices=("start", "stop", "status"))
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="where the demo keeps its store and logs (default: FAIRSHARE_DEMO_DIR, else "
                             "demo/ in the fairshare data directory)")
    parser.add_argument("--minutes", type=float, default=30.0, help="how long the simulated load runs (default 30)")
    parser.add_argument("--port", type=int, default=0, help="the pool's port (default: a free one)")
    args = parser.parse_args(argv)
    data_dir = demo_dir(args.data_dir)
    if args.action == "stop":
        stopped = stop_demo(data_dir)
        print("Stopped the demo pool." if stopped else f"No demo pool was running in {data_dir}.", file=sys.stderr)
        return 0
    if args.action == "status":
        found = running(data_dir)
        if found is None:
            print(f"No demo pool runs in {data_dir}; start one with `python -m jupyter_fairshare.demo`.",
                  file=sys.stderr)
            return 1
        sys.stdout.write(export_lines(*found))
        return 0
    try:
        url, token = ensure_demo(data_dir, minutes=args.minutes, port=args.port)
    except (RuntimeError, OSError) as exc:
        print(f"fairshare demo: {exc}", file=sys.stderr)
        return 1
    print(f"Demo pool at {url}: sites hydro (30 gCO2e/kWh, dearer) and grid (350 gCO2e/kWh, cheaper); "
          f"you are '{USER.name}' ({USER.tier} tier); {', '.join(a.name for a in SIMULATED)} keep it busy "
          f"for {args.minutes:g} minutes. Stop it with `python -m jupyter_fairshare.demo stop`.", file=sys.stderr)
    sys.stdout.write(export_lines(url, token))
    return 0


if __name__ == "__main__":
    sys.exit(main())
