"""An in-process stand-in for the pool's HTTP API (docs/http-api.md), for the client's tests.

It speaks the documented requests and responses through ``httpx.MockTransport`` and runs
tasks in this process, so the client side is tested through real HTTP objects and real
payloads without a server. The end-to-end tests in ``test_e2e_notebook.py`` run the same
paths against the real pool.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import time
import traceback
import uuid
from typing import Any

import dask
import httpx

from jupyter_fairshare import wire
from jupyter_fairshare.api import Pool
from jupyter_fairshare.client import Client


def run(task: Any) -> tuple[wire.Outcome, list[tuple[str, str]]]:
    """Run a task here; returns the outcome and the (stream, text) it printed."""
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            if isinstance(task, wire.CallTask):
                outcome = wire.Outcome(ok=True, value=task.fn(*task.args, **task.kwargs))
            elif isinstance(task, wire.GraphTask):
                outcome = wire.Outcome(ok=True, value=dask.get(task.dsk, task.keys))
            else:
                outcome = _run_cell(task)
    except Exception as exc:
        outcome = wire.Outcome(
            ok=False,
            error_type=type(exc).__name__,
            error_message=str(exc),
            traceback="".join(traceback.format_exception(exc)).splitlines(),
            exception=exc,
        )
    printed = [(s, b.getvalue()) for s, b in (("stdout", out), ("stderr", err)) if b.getvalue()]
    return outcome, printed


def _run_cell(task: wire.CellTask) -> wire.Outcome:
    namespace = {"__name__": "__main__", **task.inputs}
    tree = ast.parse(task.source)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, task.name, "exec"), namespace)  # noqa: S102 - the test's own cell
    displays = []
    value = None
    if last is not None:
        value = eval(compile(ast.Expression(last.value), task.name, "eval"), namespace)  # noqa: S307
        if value is not None:
            displays.append({"data": {"text/plain": repr(value)}, "metadata": {}})
    outputs = {n: namespace[n] for n in task.outputs if n in namespace}
    return wire.Outcome(ok=True, value=value, outputs=outputs, displays=displays)


class FakePool:
    """The documented endpoints, kept in dicts. ``defer`` leaves jobs queued until watched."""

    def __init__(self, defer: bool = False, token: str = "good") -> None:
        self.defer = defer
        self.token = token
        self.jobs: dict[str, dict[str, Any]] = {}
        self.payloads: dict[str, bytes] = {}
        self.results: dict[str, bytes] = {}
        self.events: dict[str, list[tuple[str, dict]]] = {}
        self.metas: list[dict] = []
        self.requests: list[httpx.Request] = []
        self.refuse: tuple[int, dict] | None = None
        self.requeue_once = False
        self.payload_limit = 10**9

    def pool(self, url: str = "http://pool.test") -> Pool:
        client = Client(url, self.token, transport=httpx.MockTransport(self.handle))
        return Pool(url, client=client)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path.removeprefix("/api/v1")
        if path.startswith("/public/"):
            return self._public(path)
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return httpx.Response(401, json={"detail": "The token is not valid; ask the pool's admin for one."})
        if self.refuse is not None:
            status, body = self.refuse
            return httpx.Response(status, json=body)
        parts = path.strip("/").split("/")
        if parts == ["jobs"] and request.method == "POST":
            return self._submit(request)
        if parts == ["jobs"]:
            return httpx.Response(200, json={"jobs": list(reversed(self.jobs.values()))})
        if parts == ["account"]:
            return httpx.Response(200, json={"name": "ada", "tier": "standard", "shares": 1, "credits": 10.0,
                                             "held": 0.0, "balance": 10.0, "usage": 0.0, "role": "user"})
        job = self.jobs.get(parts[1]) if len(parts) > 1 else None
        if job is None:
            return httpx.Response(404, json={"detail": "There is no such job; list yours with %fairshare jobs."})
        tail = parts[2] if len(parts) > 2 else ""
        if tail == "":
            return httpx.Response(200, json=job)
        if tail == "events":
            return self._events(job, request.headers.get("last-event-id"))
        if tail == "result":
            if job["id"] not in self.results:
                return httpx.Response(409, json={"detail": "The job has no result yet; wait for it to end."})
            return httpx.Response(200, content=self.results[job["id"]])
        if tail == "cancel":
            if job["state"] not in wire.FINAL_STATES:
                job["state"] = "cancelled"
                self._emit(job, "cancelled", {"state": "cancelled", "reason": "cancelled", "error": None, "bill": None})
            return httpx.Response(200, json=job)
        if tail == "why":
            return httpx.Response(200, json={"position": job.get("position"), "queue_length": 1, "expected_start": None,
                                             "components": {"fairshare": 0.5, "age": 0.1, "reserve": 0.0, "priority": 0.6},
                                             "ahead": [], "state": job["state"]})
        return httpx.Response(404, json={"detail": "Not found."})

    def _public(self, path: str) -> httpx.Response:
        if path == "/public/sites":
            return httpx.Response(200, json={"sites": [], "payload_limit": self.payload_limit})
        prices = {"site": "local", "version": 1, "cpu_second": 1e-5, "memory_gb_second": 1e-6, "gpu_second": 0.0,
                  "breakdown": {"cpu_second": {"energy": 4e-6, "hardware": 4e-6, "operations": 2e-6}}}
        return httpx.Response(200, json={"sites": [prices]})

    def _submit(self, request: httpx.Request) -> httpx.Response:
        payload = request.read()
        if len(payload) > self.payload_limit:
            return httpx.Response(413, json={"detail": f"The payload is {len(payload)} B but this pool accepts at most "
                                                       f"{self.payload_limit} B; send less data."})
        meta = json.loads(request.headers["fairshare-job"])
        self.metas.append(meta)
        job_id = uuid.uuid4().hex
        job = {"id": job_id, "name": meta["name"], "kind": meta["kind"], "state": "queued", "reason": None,
               "cpus": meta.get("cpus", 1), "memory": 2 * 10**9, "gpus": meta.get("gpus", 0),
               "max_cost": meta.get("max_cost") or 1.0,
               "hold": 1.0, "site": None, "attempt": 0, "submitted_at": time.time(), "started_at": None,
               "finished_at": None, "position": 1, "queue_length": 1, "expected_start": time.time() + 1,
               "cost": 0.0, "bill": None, "progress": None, "error": None}
        self.jobs[job_id], self.payloads[job_id], self.events[job_id] = job, payload, []
        self._emit(job, "queued", {"position": 1, "queue_length": 1, "expected_start": job["expected_start"]})
        if not self.defer:
            self.execute(job)
        return httpx.Response(201, json=job)

    def _emit(self, job: dict, kind: str, data: dict) -> None:
        self.events[job["id"]].append((kind, {"job": job["id"], **data}))

    def execute(self, job: dict) -> None:
        """Run a queued job to its end, recording the events the real pool would send."""
        if self.requeue_once:
            self.requeue_once = False
            self._emit(job, "started", {"site": "local", "attempt": 1})
            self._emit(job, "requeued", {"state": "queued", "reason": "worker left"})
        job.update(state="running", site="local", started_at=time.time(), position=None)
        self._emit(job, "started", {"site": "local", "attempt": 1})
        task = wire.loads(self.payloads[job["id"]])
        if isinstance(task, wire.GraphTask):
            self._emit(job, "progress", {"done": 0, "total": len(task.dsk)})
        outcome, printed = run(task)
        for stream, text in printed:
            self._emit(job, "output", {"stream": stream, "text": text})
        self._emit(job, "cost", {"cost": 0.001, "max_cost": job["max_cost"]})
        self.results[job["id"]] = wire.dumps(outcome)
        bill = {"lines": [], "total": 0.001, "capped": False, "site": "local", "price_version": 1,
                "energy_kwh": 0.0, "carbon_intensity": 100.0, "co2e_g": 0.01, "cpu_seconds": 0.0,
                "wall_seconds": 0.0, "peak_memory": 0}
        state = "done" if outcome.ok else "failed"
        job.update(state=state, finished_at=time.time(), cost=0.001, bill=bill)
        self._emit(job, state, {"state": state, "reason": None, "error": None, "bill": bill})

    def _events(self, job: dict, last_id: str | None) -> httpx.Response:
        if job["state"] == "queued":
            self.execute(job)
        start = int(last_id) if last_id else 0
        lines = []
        for seq, (kind, data) in enumerate(self.events[job["id"]][start:], start=start + 1):
            lines.append(f"id: {seq}\nevent: {kind}\ndata: {json.dumps(data)}\n\n")
        return httpx.Response(200, text="".join(lines), headers={"content-type": "text/event-stream"})
