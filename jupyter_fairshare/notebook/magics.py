"""``%%fairshare`` and ``%fairshare``: running a cell on the pool and looking at the pool.

The cell magic captures the variables the cell reads, sends the cell as one job and, by
default, blocks like a local cell would: output is printed as it arrives, displays are
shown, assigned variables land in the namespace and an exception is raised with the remote
traceback. ``--async`` returns the job at once; ``%fairshare result JOB`` finishes it later.
"""

from __future__ import annotations

import json
import os
import sys
import time
import types
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, kwds, magic_arguments
from IPython.display import display
from IPython.utils.process import arg_split

from .. import wire
from ..client import Event, errors
from ..execution.job.namespace import adopt
from ..protocol import JobState
from .api import Pool, connect
from .capture import analyse, check_serialisable, select_inputs, with_cell_magic, with_line_magics
from .drawing import draws, kernel_rc
from .job import Job
from .shown import UndefinedName, shown_as_local, shown_short, syntax_error

__all__ = ["FairshareMagics", "load_ipython_extension"]

# How long a blocking cell's submit request waits for the job to end: an empty or short
# cell comes back in that one round trip; a longer one falls back to the event stream.
SHORT_WAIT = 1.0


CELL_HELP = """Run this cell on the fair-share pool, as if it ran here.

The variables the cell reads are sent with it; what it assigns or may change (``model.fit(X)``,
``L.append(v)``, ``del x``) comes back. Output, displays and figures are shown as they would be
here, and an exception is raised as a local one. Interrupting the kernel cancels the job.

Examples::

  %%fairshare
  model.fit(X_train, y_train)

  %%fairshare --cpus 4 --memory 8GB --name "grid search"
  search = GridSearchCV(SVC(), grid).fit(X, y)

  %%fairshare --async --in df --out summary
  summary = df.groupby("key").mean()
"""


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if not n.isidentifier()]
    if bad:
        raise ValueError(f"not variable names: {', '.join(bad)}")
    return names


def _print_output(event: Event) -> None:
    stream = sys.stderr if event.data.get("stream") == "stderr" else sys.stdout
    stream.write(event.data.get("text", ""))
    stream.flush()


def _ago(then: float | None, now: float) -> str:
    return "" if then is None else f"{max(0.0, now - then):.0f} s ago"


@magics_class
class FairshareMagics(Magics):
    """The fairshare magics; the pool is connected on first use and kept for the session."""

    def __init__(self, shell: Any = None) -> None:
        super().__init__(shell)
        self._pool: Pool | None = None
        self.submitted: dict[str, Job] = {}

    @property
    def pool(self) -> Pool:
        """The session's pool, connected on first use."""
        if self._pool is None:
            self._pool = connect()
        return self._pool

    @pool.setter
    def pool(self, pool: Pool) -> None:
        if self._pool is not None and self._pool is not pool:
            self._pool.close()
        self._pool = pool

    # -- the cell magic ----------------------------------------------------------------

    @magic_arguments(name="%fairshare")
    @kwds(description=CELL_HELP)
    @argument("--cpus", type=float, default=1, help="CPUs to hold (default 1)")
    @argument("--memory", default="2GB", help="memory to hold, like 4GB (default 2GB)")
    @argument("--gpus", type=int, default=0, help="GPUs to hold (default 0)")
    @argument("--max-cost", type=float, default=None, help="stop the job at this many credits")
    @argument("--deadline", default=None, help="may wait this long for a greener window, like 2h")
    @argument("--site", default=None, help="run at this site only")
    @argument("--tier", default=None, help="require that the account is in this tier")
    @argument("--name", default=None, help="the job's name in listings")
    @argument("--async", dest="run_async", action="store_true", help="return the Job at once")
    @argument("--in", dest="inputs", type=_names, default=None, help="send exactly these variables: a,b")
    @argument("--out", dest="outputs", type=_names, default=None, help="bring back exactly these: c,d")
    @cell_magic("fairshare")
    def fairshare_cell(self, line: str, cell: str) -> Any:
        """Run this cell on the fair-share pool and bring its results back (see CELL_HELP)."""
        args = _parse(self.fairshare_cell, line)
        with shown_short():
            return self._run_cell(args, cell)

    def _run_cell(self, args: Any, cell: str) -> Any:
        task = self.cell_task(cell, args.inputs, args.outputs, args.name)
        if args.tier is not None:
            self._check_tier(args.tier)
        job = self.pool.submit_task(
            task,
            name=task.name,
            cpus=args.cpus,
            memory=args.memory,
            gpus=args.gpus,
            max_cost=args.max_cost,
            deadline=args.deadline,
            site=args.site,
            wait=None if args.run_async else SHORT_WAIT,
            **_origin(self.shell),
        )
        self.submitted[job.id] = job
        if args.run_async:
            print(f"Job {job.id} submitted; bring its results in with %fairshare result {job.id}")
            return job
        return self.bring_in(job)

    def cell_task(
        self, cell: str, inputs: list[str] | None, outputs: list[str] | None, name: str | None
    ) -> wire.CellTask:
        """The task for ``cell``: its inputs read from the namespace, checked to pickle.

        It brings back what the cell assigns and what it may change in place of what it is
        sent; a name the cell reads that nothing defines is refused here, before the job
        costs anything.
        """
        shell = self.shell
        namespace = shell.user_ns
        source = shell.transform_cell(cell)
        try:
            names = analyse(source)
        except SyntaxError as exc:
            raise syntax_error(shell, exc, source, cell) from None
        names = with_line_magics(with_cell_magic(names, cell, shell.transform_cell), source)
        if inputs is None:
            undefined = names.undefined(namespace)
            if undefined:
                raise UndefinedName(undefined[0])
            inputs = select_inputs(names.reads, namespace, shell.user_ns_hidden)
        if outputs is None:
            sent = set(inputs)
            changed = [n for n in names.changes if n in sent and not _is_code(namespace.get(n))]
            outputs = list(dict.fromkeys([*names.writes, *changed]))
        missing = [n for n in inputs if n not in namespace]
        if missing:
            raise errors.BadRequest(
                f"--in names {', '.join(missing)}, which this kernel does not define; define it or leave it out."
            )
        values = {n: namespace[n] for n in inputs}
        task = wire.CellTask(
            source=source,
            inputs=values,
            outputs=outputs,
            name=name or _cell_name(cell),
            execution_count=int(getattr(shell, "execution_count", 0) or 0),
            colors=str(getattr(shell, "colors", "nocolor")),
            rc=kernel_rc() if draws(names, namespace, source) else None,
        )
        try:
            wire.frames(task)  # a trial pickle that leaves large buffers where they are
        except Exception as exc:  # find which variable it was, and say so
            check_serialisable(values)
            raise errors.FairshareError(
                f"The cell could not be serialised ({type(exc).__name__}: {exc}); name its inputs with --in."
            ) from exc
        return task

    def _check_tier(self, tier: str) -> None:
        actual = self.pool.account().get("tier")
        if actual != tier:
            raise errors.BadRequest(
                f"This account is in the {actual} tier, not {tier}; "
                f"drop --tier or connect with a {tier} account's token."
            )

    def bring_in(self, job: Job) -> Any:
        """Follow the job to its end, then apply its outputs, displays and exception here.

        The namespace gets what the cell changed also when it raised, then the exception is
        raised as IPython shows a local one. The value is returned for IPython to show as the
        cell's result (setting ``_`` and ``Out``); displays the job made after its value (figures
        drawn at the end of the cell) are shown after it, as a local run shows them.
        """
        job.follow(on_output=_print_output)
        outcome = job.outcome()
        namespace = self.shell.user_ns
        adopt(outcome.outputs, namespace, fill=False)
        namespace.update(outcome.outputs)
        for name in outcome.deleted:
            namespace.pop(name, None)
        split = len(outcome.displays) if outcome.value_at is None else outcome.value_at
        _show(outcome.displays[:split])
        self._show_after_value(outcome.displays[split:])
        if not outcome.ok:
            raise shown_as_local(outcome, job.id)
        return outcome.value

    def _show_after_value(self, bundles: list[dict[str, Any]]) -> None:
        trap = getattr(self.shell, "builtin_trap", None)
        if not bundles or getattr(trap, "_nested_level", 0) == 0:  # not inside a running cell
            _show(bundles)
            return
        events = self.shell.events

        def show() -> None:
            events.unregister("post_execute", show)
            _show(bundles)

        events.register("post_execute", show)

    # -- the line magic ----------------------------------------------------------------

    @magic_arguments()
    @argument(
        "command",
        choices=["status", "jobs", "quota", "prices", "cancel", "result", "why", "connect"],
        help="what to do",
    )
    @argument("target", nargs="?", default=None, help="the JOB id, or the URL for connect")
    @argument("--token", default=None, help="the token for connect")
    @line_magic("fairshare")
    def fairshare_line(self, line: str) -> Any:
        """Look at the pool and your jobs: status, jobs, quota, prices, cancel JOB, result JOB, why JOB, connect URL."""
        args = _parse(self.fairshare_line, line)
        with shown_short():
            return self._line(args)

    def _line(self, args: Any) -> Any:
        needs_target = {"cancel", "result", "why", "connect"}
        if args.command in needs_target and not args.target:
            what = "URL" if args.command == "connect" else "JOB"
            raise errors.BadRequest(
                f"%fairshare {args.command} needs a {what}; write %fairshare {args.command} {what}."
            )
        return getattr(self, f"_cmd_{args.command}")(args)

    def _job(self, job_id: str) -> Job:
        return self.submitted.get(job_id) or self.pool.job(job_id)

    def _cmd_status(self, args: Any) -> None:
        account = self.pool.account()
        active = self.pool.client.jobs(limit=100)
        queued = sum(1 for j in active if j["state"] == JobState.QUEUED)
        running = sum(1 for j in active if j["state"] == JobState.RUNNING)
        print(
            f"Pool {self.pool.url}: account {account.get('name')} ({account.get('tier')}), "
            f"balance {account.get('balance', 0.0):.4f} credits; {queued} queued, {running} running."
        )

    def _cmd_jobs(self, args: Any) -> None:
        now = time.time()
        rows = self.pool.client.jobs(limit=50)
        if not rows:
            print("No jobs yet.")
            return
        print(f"{'id':34} {'state':10} {'position':>9} {'cost':>10}  submitted  name")
        for j in rows:
            position = "" if j.get("position") is None else f"{j['position']}/{j.get('queue_length')}"
            print(
                f"{j['id']:34} {j['state']:10} {position:>9} {j.get('cost', 0.0):>10.4f}  "
                f"{_ago(j.get('submitted_at'), now):>9}  {j.get('name', '')}"
            )

    def _cmd_quota(self, args: Any) -> None:
        account = self.pool.account()
        for key in ("name", "tier", "shares", "credits", "held", "balance", "usage"):
            if key in account:
                print(f"{key:>8}: {account[key]}")

    def _cmd_prices(self, args: Any) -> None:
        prices = self.pool.prices()
        for site in prices.get("sites", []) if isinstance(prices, dict) else []:
            units = ", ".join(
                f"{site[k]:.3g} per {label}"
                for k, label in (("cpu_second", "CPU-s"), ("memory_gb_second", "GB-s"), ("gpu_second", "GPU-s"))
                if k in site
            )
            print(f"{site.get('site')} (price version {site.get('version')}): {units}")
            for unit, parts in (site.get("breakdown") or {}).items():
                print(f"    {unit}: " + ", ".join(f"{k} {v:.3g}" for k, v in parts.items()))
        if not isinstance(prices, dict) or "sites" not in prices:
            print(json.dumps(prices, indent=2))

    def _cmd_cancel(self, args: Any) -> None:
        job = self._job(args.target)
        if job.cancel():
            print(f"Job {job.id} is cancelled.")
        elif job.done():
            print(f"Job {job.id} is already {job.info.get('state')}.")
        else:  # the pool answered before the worker stopped it
            print(f"Job {job.id} is being cancelled; %fairshare jobs shows when it has stopped.")

    def _cmd_result(self, args: Any) -> Any:
        return self.bring_in(self._job(args.target))

    def _cmd_why(self, args: Any) -> None:
        why = self.pool.client.why(args.target)
        if why.get("position") is None:
            print(f"Job {args.target} is not waiting (it is {why.get('state', 'not queued')}).")
            return
        print(f"Job {args.target} is {why['position']} of {why.get('queue_length')} in the queue.")
        components = why.get("components") or {}
        print("  its priority: " + ", ".join(f"{k} {v:.3g}" for k, v in components.items()))
        for ahead in why.get("ahead") or []:
            parts = ", ".join(f"{k} {v:.3g}" for k, v in (ahead.get("components") or {}).items())
            priority = ahead.get("priority", 0.0)
            print(f"  #{ahead.get('position')} ({ahead.get('tier')}): priority {priority:.3g}; {parts}")

    def _cmd_connect(self, args: Any) -> None:
        pool = connect(args.target, args.token)
        account = pool.account()
        self.pool = pool
        print(f"Connected to {pool.url} as {account.get('name')} ({account.get('tier')} tier).")


def _cell_name(cell: str) -> str:
    first = next((line.strip() for line in cell.splitlines() if line.strip()), "")
    return (first[:60] + "...") if len(first) > 60 else (first or "empty cell")


def _parse(magic: Any, line: str) -> Any:
    """The magic's options, split as a shell splits them: ``--name "grid search"`` is one word
    without its quote marks."""
    try:
        words = arg_split(line, posix=True)
    except ValueError as exc:  # an unclosed quote
        raise UsageError(f"{exc} in {line!r}; close the quote.") from None
    return magic.parser.parse_args(words)


def _show(bundles: list[dict[str, Any]]) -> None:
    for bundle in bundles:
        display(bundle.get("data", {}), metadata=bundle.get("metadata") or None, raw=True)


def _is_code(value: object) -> bool:
    """Modules, functions and classes: a cell calls them or passes them on, and bringing them
    back would cost a pickle and replace the kernel's own with a copy, for nothing."""
    return isinstance(value, (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, type))


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyter_fairshare``: register the magics."""
    ipython.register_magics(FairshareMagics(ipython))


def _origin(shell: Any) -> dict[str, str | None]:
    """The notebook and cell a job came from, so the sidebar can lead back to them.

    Jupyter server names a kernel's notebook in ``JPY_SESSION_NAME``; JupyterLab sends the
    cell's id in the execute request's metadata. Outside Jupyter both are simply unknown.
    """
    kernel = getattr(shell, "kernel", None)
    parent = kernel.get_parent() if kernel is not None and hasattr(kernel, "get_parent") else None
    cell = ((parent or {}).get("metadata") or {}).get("cellId")
    return {"notebook": os.environ.get("JPY_SESSION_NAME"), "cell": cell if isinstance(cell, str) else None}

