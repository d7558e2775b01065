"""Prometheus metrics for operators: submissions, queue depth, running jobs.

Each pool has its own registry so several pools in one process (tests, an embedded pool in
a Jupyter server) never collide on metric names.
"""

from __future__ import annotations

from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    generate_latest,
)

from ..policy import Scheduler


class Metrics:
    def __init__(self, scheduler: Scheduler) -> None:
        self.registry = CollectorRegistry()
        self.submissions = Counter("fairshare_submissions", "Job submissions by outcome", ["outcome"],
                                   registry=self.registry)
        queued = Gauge("fairshare_jobs_queued", "Jobs waiting in the queue", registry=self.registry)
        running = Gauge("fairshare_jobs_running", "Jobs running on workers", registry=self.registry)
        queued.set_function(lambda: scheduler.queued_count)
        running.set_function(lambda: scheduler.running_count)

    def accepted(self) -> None:
        self.submissions.labels("accepted").inc()

    def refused(self, reason: str) -> None:
        self.submissions.labels(f"refused:{reason}").inc()

    def response(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)
