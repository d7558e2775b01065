"""The demo's simulated other users: a few accounts keeping the pool busy with short jobs.

Each simulated account keeps a few jobs queued at all times, each job a sleep of a few
seconds, submitted over the same HTTP API a notebook uses. That is enough, on the demo's
two single-CPU sites, for a visitor to see within a minute what a shared pool looks like:
a queue with positions, the fair-share order between groups with different shares, and
their own newcomer jobs placed ahead of it by the reserve.

It is bounded: it stops after the given minutes, when the pool stops answering, or when
the demo was restarted under it (its state file names another load generator).

    python -m jupyter_fairshare.demo.load --data-dir DIR [--minutes 30]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import time
from pathlib import Path

from .. import wire
from ..client import Client, errors
from .launch import SIMULATED, demo_dir, read_state

#: Sleep lengths of simulated jobs, in seconds: short, so a newcomer never waits long.
SHORTEST, LONGEST = 2.0, 5.0
#: How long the pool may not answer before the load generator gives up.
PATIENCE = 15.0
#: Each simulated job's cap: far above what a few seconds cost, far below its credits.
MAX_COST = 0.01


def top_up(client: Client, depth: int, rng: random.Random) -> int:
    """Submit jobs until the account has ``depth`` queued; returns how many were submitted."""
    queued = len(client.jobs(state="queued", limit=max(depth, 1) * 4))
    for _ in range(depth - queued):
        seconds = round(rng.uniform(SHORTEST, LONGEST), 1)
        payload = wire.dumps(wire.CallTask(time.sleep, (seconds,)))
        client.submit(payload, {"kind": "call", "name": f"simulated: sleep {seconds} s", "cpus": 1,
                                "memory": "256MB", "max_cost": MAX_COST})
    return max(depth - queued, 0)


def run(data_dir: Path, minutes: float, seed: int | None = None, tick: float = 1.0) -> None:
    """Keep every simulated account topped up until ``minutes`` pass or the pool goes away."""
    state = read_state(data_dir)
    me = os.getpid()
    rng = random.Random(seed)
    clients = [(Client(state["url"], state["tokens"][a.name]), a.depth) for a in SIMULATED]
    stop_at = time.monotonic() + minutes * 60
    last_answer = time.monotonic()
    try:
        while time.monotonic() < stop_at:
            if read_state(data_dir).get("load_pid", me) != me:
                return  # the demo was restarted and has its own load generator
            try:
                for client, depth in clients:
                    top_up(client, depth, rng)
                last_answer = time.monotonic()
            except errors.PoolUnreachable:
                if time.monotonic() - last_answer > PATIENCE:
                    return
            except (errors.BadToken, errors.CreditsTooLow):
                return  # a different pool answers at the URL, or the credits ran out
            time.sleep(tick)
    finally:
        for client, _ in clients:
            client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jupyter_fairshare.demo.load",
                                     description="Keep the demo pool busy with simulated accounts' jobs.")
    parser.add_argument("--data-dir", type=Path, default=None, help="the demo's data directory")
    parser.add_argument("--minutes", type=float, default=30.0, help="stop after this long")
    parser.add_argument("--seed", type=int, default=None, help="seed for the jobs' lengths")
    args = parser.parse_args(argv)
    # SIGTERM from `python -m jupyter_fairshare.demo stop` ends the loop through `finally`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    data_dir = demo_dir(args.data_dir)
    if not read_state(data_dir).get("tokens"):
        print(f"No demo pool in {data_dir}; start one with `python -m jupyter_fairshare.demo`.", file=sys.stderr)
        return 1
    run(data_dir, args.minutes, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
