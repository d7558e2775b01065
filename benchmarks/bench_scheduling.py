"""How fast the scheduler decides, against a naive sort-per-decision baseline, and how fairly.

    python benchmarks/bench_scheduling.py [--jobs 100000] [--accounts 10000] [--repeat 3] [--json PATH]

Both contenders work the same queue (``--jobs`` waiting jobs from ``--accounts`` accounts
on a full pool) in the same run: each step frees capacity the way a pool does (the running
job that ends first calls ``finished``), then asks for decisions. The naive baseline
recomputes every waiting job's priority, sorts the whole queue and starts the first job
that fits, for a fixed number of decisions. Fairness comes from a simulated saturated
window through the real scheduler. The scheduler's figures are the median of ``--repeat``
runs on the same workload, since a shared machine makes any one run noisy.
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import statistics
import time
from dataclasses import dataclass, field

from jupyter_fairshare.pool.policy import (
    AccountState,
    Node,
    PolicyConfig,
    QueuedJob,
    Scheduler,
    SiteState,
    Submission,
    billing_units,
    components,
    fairshare_factor,
    jain_index,
    place,
    reserve_active,
    simulate,
)

GB = 10**9
SHAPES = [(1, 1 * GB), (1, 2 * GB), (1, 1 * GB), (2, 4 * GB), (4, 8 * GB), (8, 16 * GB)]
LENGTHS = (30.0, 60.0, 300.0, 600.0)
NOW = 1_700_000_000.0


@dataclass
class Workload:
    """A reproducible pool: nodes, accounts with history, and a deep queue."""

    nodes: list[Node]
    sites: dict[str, SiteState]
    accounts: list[AccountState]
    queue: list[QueuedJob]
    rng: random.Random
    counter: int = 0
    tiers: dict[str, str] = field(default_factory=dict)

    def job(self, now: float) -> QueuedJob:
        """One more arrival from a random account."""
        self.counter += 1
        account = self.accounts[self.rng.randrange(len(self.accounts))]
        cpus, memory = self.rng.choice(SHAPES)
        return QueuedJob(
            f"j{self.counter}", account.name, account.tier, cpus, memory, 0,
            now - self.rng.uniform(0, 3600), expected_seconds=self.rng.choice(LENGTHS),
        )


def build(jobs: int, accounts: int, seed: int = 7) -> Workload:
    rng = random.Random(seed)
    nodes = [Node(f"n{i:03d}", f"site{i % 3}", 32, 128 * GB, 0) for i in range(64)]
    sites = {f"site{k}": SiteState(f"site{k}", 120.0 + 80 * k, 1e-5 * (1 + k)) for k in range(3)}
    # Accounts carry the history of a pool at steady state: with a 7-day half-life the
    # decayed total is about throughput * half_life / ln 2 (~2,000 billing units/s here).
    steady = 2000.0 * PolicyConfig().half_life / 0.693 / accounts
    accts = [
        AccountState(f"a{i}", "newcomer" if i % 10 == 0 else "standard", float(rng.choice((1, 2, 4))), rng.expovariate(1 / steady))
        for i in range(accounts)
    ]
    work = Workload(nodes, sites, accts, [], rng)
    work.queue = [work.job(NOW) for _ in range(jobs)]
    return work


def bench_scheduler(work: Workload, decisions: int, config: PolicyConfig) -> dict:
    """Decisions per second of the incremental scheduler on a full pool with a deep queue."""
    sched = Scheduler(config)
    sched.set_nodes(work.nodes, work.sites)
    for acc in work.accounts:
        sched.set_account(acc, NOW)
    jobs = {}
    for job in work.queue:
        sched.enqueue(job)
        jobs[job.id] = job
    ends: list[tuple[float, str]] = []
    now = NOW

    def started(starts: list, at: float) -> None:
        for s in starts:
            heapq.heappush(ends, (at + jobs[s.job].expected_seconds, s.job))

    started(sched.decide(now), now)
    made = 0
    decide_time = 0.0
    begin = time.perf_counter()
    cpu_begin = time.process_time()  # this process's CPU only, which other load on the machine does not inflate
    while made < decisions and ends:
        now, job_id = heapq.heappop(ends)
        job = jobs.pop(job_id)
        sched.finished(job_id, billing_units(job.cpus, job.memory, job.gpus, job.expected_seconds, config), now)
        t = time.perf_counter()
        starts = sched.decide(now)
        decide_time += time.perf_counter() - t
        made += len(starts)
        started(starts, now)
        for _ in starts:  # arrivals keep the queue as deep as it started
            new = work.job(now)
            jobs[new.id] = new
            sched.enqueue(new)
    loop = time.perf_counter() - begin
    cpu = time.process_time() - cpu_begin
    t = time.perf_counter()
    some = next(iter(sched._queued))
    sched.standing(some, now)
    build_s = time.perf_counter() - t
    t = time.perf_counter()
    for job_id in list(sched._queued)[:100]:
        sched.standing(job_id, now)
    cached_s = (time.perf_counter() - t) / 100
    return {
        "decisions": made,
        "per_second": made / loop,
        "cpu_per_second": made / cpu if cpu else float("inf"),
        "decide_only_per_second": made / decide_time if decide_time else float("inf"),
        "queued": sched.queued_count,
        "running": sched.running_count,
        "standing_build_ms": build_s * 1000,
        "standing_cached_ms": cached_s * 1000,
    }


def bench_naive(work: Workload, decisions: int, config: PolicyConfig) -> dict:
    """The same pool decided by recomputing and sorting every waiting job's priority each time."""
    usage = {a.name: a.usage for a in work.accounts}
    shares = {a.name: a.shares for a in work.accounts}
    total_shares = sum(shares.values())
    queue = {job.id: job for job in work.queue}
    free = {n.name: (n.cpus, n.memory, n.gpus) for n in work.nodes}
    held = {"newcomer": 0.0}
    ends: list[tuple[float, str, QueuedJob, str]] = []
    capacity = sum(n.cpus for n in work.nodes)
    now = NOW

    def decide_one(at: float) -> bool:
        total_usage = sum(usage.values())
        lift = reserve_active(any(j.tier == "newcomer" for j in queue.values()), held["newcomer"], capacity, config.newcomer_reserve)
        ranked = sorted(
            queue.values(),
            key=lambda j: (
                -components(fairshare_factor(usage[j.account], shares[j.account], total_usage, total_shares), at - j.submitted_at, lift and j.tier == "newcomer", config)["priority"],
                j.submitted_at,
                j.id,
            ),
        )
        for job in ranked:
            node = place(job, free, work.nodes, work.sites)
            if node is not None:
                del queue[job.id]
                f = free[node.name]
                free[node.name] = (f[0] - job.cpus, f[1] - job.memory, f[2] - job.gpus)
                usage[job.account] += billing_units(job.cpus, job.memory, job.gpus, job.expected_seconds, config)
                if job.tier == "newcomer":
                    held["newcomer"] += job.cpus
                heapq.heappush(ends, (at + job.expected_seconds, job.id, job, node.name))
                return True
        return False

    fill = sorted(queue.values(), key=lambda j: (j.submitted_at, j.id))
    for job in fill:  # fill the pool once, in submission order, as the scheduler's run did
        node = place(job, free, work.nodes, work.sites)
        if node is not None:
            del queue[job.id]
            f = free[node.name]
            free[node.name] = (f[0] - job.cpus, f[1] - job.memory, f[2] - job.gpus)
            usage[job.account] += billing_units(job.cpus, job.memory, job.gpus, job.expected_seconds, config)
            held["newcomer"] += job.cpus if job.tier == "newcomer" else 0.0
            heapq.heappush(ends, (now + job.expected_seconds, job.id, job, node.name))
    made = 0
    begin = time.perf_counter()
    while made < decisions and ends:
        now, _, job, node = heapq.heappop(ends)
        f = free[node]
        free[node] = (f[0] + job.cpus, f[1] + job.memory, f[2] + job.gpus)
        if job.tier == "newcomer":
            held["newcomer"] -= job.cpus
        while made < decisions and decide_one(now):
            made += 1
    loop = time.perf_counter() - begin
    return {"decisions": made, "per_second": made / loop, "queued": len(queue)}


def fairness(config: PolicyConfig) -> dict:
    """Jain's index and the newcomer share in a saturated simulated window."""
    nodes = [Node(f"n{i}", "site0", 8, 64 * GB, 0) for i in range(4)]
    work = []
    names = [f"acct{i}" for i in range(8)]
    for i, name in enumerate(names):
        tier = "newcomer" if i == 0 else "standard"
        for k in range(400):
            work.append(Submission(QueuedJob(f"{name}-{k}", name, tier, 1, GB, 0, float(k % 3), expected_seconds=60.0), 60.0))
    result = simulate(config, nodes, work)
    window = (600.0, 3600.0)
    by_account = result.service(*window)
    equal = [by_account.get(n, 0.0) for n in names[1:]]
    newcomer = result.service(*window, key="tier").get("newcomer", 0.0) / sum(by_account.values())
    return {"jain_index": jain_index(equal), "newcomer_share": newcomer, "utilisation": result.utilisation(*window)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--naive-decisions", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3, help="scheduler runs to take the median of")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args()
    config = PolicyConfig()
    runs = [bench_scheduler(build(args.jobs, args.accounts), args.decisions, config) for _ in range(max(args.repeat, 1))]
    ours = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    ours["per_second_runs"] = [run["per_second"] for run in runs]
    naive = bench_naive(build(args.jobs, args.accounts), args.naive_decisions, config)
    fair = fairness(PolicyConfig(half_life=3600.0, max_age=3600.0))
    results = {"jobs": args.jobs, "accounts": args.accounts, "scheduler": ours, "naive": naive,
               "speedup": ours["per_second"] / naive["per_second"], **fair}
    rows = [
        ("queued jobs / accounts", f"{args.jobs:,} / {args.accounts:,}"),
        ("scheduler decisions/s (finished+decide+enqueue), median", f"{ours['per_second']:,.0f} over {ours['decisions']:,.0f} "
         f"(runs: {', '.join(f'{r:,.0f}' for r in ours['per_second_runs'])})"),
        ("scheduler decisions per CPU-second (same loop), median", f"{ours['cpu_per_second']:,.0f}"),
        ("scheduler decisions/s (decide only), median", f"{ours['decide_only_per_second']:,.0f}"),
        ("naive sort-per-decision decisions/s", f"{naive['per_second']:,.2f} over {naive['decisions']}"),
        ("speed-up", f"{results['speedup']:,.0f}x"),
        ("standing(): first call after a change, median", f"{ours['standing_build_ms']:,.0f} ms"),
        ("standing(): cached", f"{ours['standing_cached_ms']:.4f} ms"),
        ("Jain's index, 7 equal accounts, saturated", f"{fair['jain_index']:.4f}"),
        ("newcomer share (reserve 20%), saturated", f"{fair['newcomer_share']:.3f}"),
        ("utilisation, saturated window", f"{fair['utilisation']:.3f}"),
    ]
    print("| measure | value |\n| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
