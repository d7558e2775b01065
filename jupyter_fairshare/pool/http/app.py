"""The HTTP API: thin routes that translate requests into calls on the :class:`Pool`.

FastAPI gives us the OpenAPI spec (``/openapi.json``) from the same declarations that
validate requests, so the published contract cannot drift from what the pool accepts.
The one map from the pool's refusals (``pool/errors.py``) to HTTP statuses is ``STATUS``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from ..._version import __version__
from .. import errors
from ..pool import Pool
from ..store.accounts import Principal
from .metrics import Metrics
from .plots import waits_svg
from .schemas import Account, AccountCreate, ErrorBody, Job, JobList, Reservation, TopUp, sentence
from .sse import event_stream

STATUS: dict[type[errors.Refused], int] = {
    errors.Unauthorized: 401, errors.Forbidden: 403, errors.NotFound: 404, errors.Conflict: 409,
    errors.Invalid: 422, errors.CreditsTooLow: 402, errors.PayloadTooLarge: 413,
}


def status_of(exc: errors.Refused) -> int:
    """The HTTP status of a refusal: that of its nearest class in ``STATUS`` (NoResult is a Conflict)."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def _err(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorBody} for status in statuses}


AUTHED = _err(401)


def _job(job: dict[str, Any], status: int = 200) -> Response:
    """A job answer, checked against ``Job`` by pydantic's own serialiser: FastAPI's generic
    response path (validate, then ``jsonable_encoder``) costs several times as much, and the
    job endpoints are the ones a waiting notebook cell goes through."""
    return Response(Job.model_validate(job).model_dump_json(), status_code=status, media_type="application/json")


def create_app(pool: Pool, lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None) -> FastAPI:
    app = FastAPI(
        title="jupyter-fairshare pool",
        version=__version__,
        description="A fair-share compute pool: queue, prices, carbon and bills. See docs/http-api.md.",
        lifespan=lifespan,
    )
    metrics = Metrics(pool.scheduler)
    views = pool.views

    @app.exception_handler(errors.Refused)
    async def _refused(_request: Request, exc: errors.Refused) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "code": exc.code, **exc.details}, status_code=status_of(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": sentence(exc.errors()), "code": errors.Invalid.code}, status_code=422)

    def bearer(authorization: str | None) -> Principal:
        if not authorization or not authorization.startswith("Bearer "):
            raise errors.Unauthorized("No token was sent; pass Authorization: Bearer <token> (set FAIRSHARE_TOKEN).")
        return pool.principal(authorization[len("Bearer "):].strip())

    async def principal(authorization: str | None = Header(None)) -> Principal:
        # async: a plain def dependency would cost a thread-pool hop on every request
        return bearer(authorization)

    async def admin(who: Principal = Depends(principal)) -> Principal:
        if who.role != "admin":
            raise errors.Forbidden("This needs an admin token; ask the pool's operator.")
        return who

    @app.post("/api/v1/jobs", response_model=Job, status_code=201, tags=["jobs"],
              responses=_err(401, 402, 409, 413, 422),
              openapi_extra={"parameters": SUBMIT_PARAMETERS, "requestBody": {
                  "required": True, "content": {"application/octet-stream": {
                      "schema": {"type": "string", "format": "binary"}}}}})
    async def submit(request: Request) -> Response:
        """Submit a job: the body is the opaque payload, the header its metadata."""
        # The parameters are read here rather than declared to FastAPI, whose solving of
        # them cost a sixth of the pool's CPU per job; SUBMIT_PARAMETERS documents them.
        who = bearer(request.headers.get("authorization"))
        header = request.headers.get("fairshare-job")
        try:
            spec = await pool.admission.spec(who, header)
        except errors.Invalid:
            if header is not None:
                metrics.refused("metadata")
            raise
        wait = _wait(request.query_params.get("wait"))
        payload = await pool.admission.receive(who, spec, request.headers, request.stream())
        job = await pool.admission.submit(who, spec, payload)
        metrics.accepted()
        if wait:
            job = await views.wait(job["id"], who.id, wait)
        return _job(job, 201)

    @app.get("/api/v1/jobs", response_model=JobList, tags=["jobs"], responses=AUTHED)
    async def list_jobs(state: str | None = None, limit: int = Query(100, ge=1, le=10000),
                        who: Principal = Depends(principal)) -> dict[str, Any]:
        """This account's jobs, newest first."""
        return {"jobs": await asyncio.to_thread(views.listing, who.id, state, limit)}

    @app.get("/api/v1/jobs/{job_id}", response_model=Job, tags=["jobs"], responses=_err(401, 404))
    async def get_job(job_id: str, wait: float = Query(0.0, ge=0, le=300),
                      who: Principal = Depends(principal)) -> Response:
        """One job of this account, with its queue position while it waits."""
        return _job(await views.wait(job_id, who.id, wait))

    @app.get("/api/v1/jobs/{job_id}/result", tags=["jobs"], response_class=Response, responses=_err(401, 404, 409))
    async def result(job_id: str, who: Principal = Depends(principal)) -> Response:
        """The job's result blob, opaque to the pool."""
        data = await asyncio.to_thread(views.result, job_id, who.id)
        return Response(data, media_type="application/octet-stream")

    @app.post("/api/v1/jobs/{job_id}/cancel", response_model=Job, tags=["jobs"], responses=_err(401, 404))
    async def cancel(job_id: str, who: Principal = Depends(principal)) -> dict[str, Any]:
        """Cancel a queued job (nothing is charged) or stop a running one (billed to now)."""
        return await pool.cancel(job_id, who.id)

    @app.get("/api/v1/jobs/{job_id}/why", tags=["jobs"], responses=_err(401, 404))
    async def why(job_id: str, who: Principal = Depends(principal)) -> dict[str, Any]:
        """Why the job waits: its priority components and what is ahead of it."""
        return views.why(job_id, who.id)

    @app.get("/api/v1/jobs/{job_id}/events", tags=["events"], responses=_err(401, 404))
    async def job_events(job_id: str, last_event_id: int = Header(0), who: Principal = Depends(principal)) -> Response:
        """Server-sent events of one job, from its first (or after Last-Event-ID) to its last."""
        views.view(job_id, who.id)
        return event_stream(pool.events(job_id, last_event_id))

    @app.get("/api/v1/events", tags=["events"], responses=AUTHED)
    async def account_events(who: Principal = Depends(principal)) -> Response:
        """Server-sent events of all this account's jobs, live."""
        return event_stream(pool.hub.account_stream(who.id))

    @app.get("/api/v1/spool", tags=["jobs"], responses=AUTHED)
    async def spool(who: Principal = Depends(principal)) -> dict[str, Any]:
        """Where a client on the pool's own host may write a large payload (then submit it by
        naming the file in the Fairshare-Payload-File header, with an empty body)."""
        return views.spool_info()

    @app.get("/api/v1/account", response_model=Account, tags=["account"], responses=AUTHED)
    async def account(who: Principal = Depends(principal)) -> dict[str, Any]:
        """This account's tier, shares, credits, holds and usage."""
        return views.account(who.id)

    @app.get("/api/v1/public/prices", tags=["public"])
    async def public_prices() -> dict[str, Any]:
        """Each site's unit prices with the cost breakdown they come from."""
        return pool.billing.public_prices()

    @app.get("/api/v1/public/sites", tags=["public"])
    async def public_sites() -> dict[str, Any]:
        """Sites with their capacity, free capacity and carbon intensity now."""
        return views.public_sites()

    @app.get("/api/v1/public/queue", tags=["public"])
    async def public_queue() -> dict[str, Any]:
        """The queue, anonymised, with every job's priority components."""
        return views.public_queue()

    @app.get("/api/v1/public/stats", tags=["public"])
    async def public_stats() -> dict[str, Any]:
        """Wait percentiles, acceptance rates and utilisation per tier and site."""
        return await asyncio.to_thread(views.public_stats)

    @app.get("/api/v1/public/stats.svg", tags=["public"], response_class=Response)
    async def public_stats_plot(window: str = Query("24h", pattern="^(1h|24h|7d)$")) -> Response:
        """The published wait percentiles as an SVG chart."""
        return Response(waits_svg(await asyncio.to_thread(views.public_stats), window), media_type="image/svg+xml")

    @app.get("/api/v1/public/reservations", tags=["public"])
    async def public_reservations() -> dict[str, Any]:
        """The public record of reserved or exclusive capacity: who, how much, when, why."""
        return views.public_reservations()

    @app.post("/api/v1/admin/accounts", tags=["admin"], status_code=201, responses=_err(401, 403, 409, 422))
    async def add_account(body: AccountCreate, _admin: Principal = Depends(admin)) -> dict[str, Any]:
        """Create an account; the token is in the response, once."""
        return {"name": body.name, "token": await pool.add_account(body.name, body.tier, body.shares,
                                                                     body.credits, body.role)}

    @app.get("/api/v1/admin/accounts", tags=["admin"], responses=_err(401, 403))
    async def list_accounts(_admin: Principal = Depends(admin)) -> dict[str, Any]:
        """All accounts with their credits and usage."""
        return {"accounts": await pool.accounts()}

    @app.post("/api/v1/admin/accounts/{name}/credits", tags=["admin"], responses=_err(401, 403, 404))
    async def top_up(name: str, body: TopUp, _admin: Principal = Depends(admin)) -> dict[str, Any]:
        """Add credits to an account."""
        return {"name": name, "credits": await pool.top_up(name, body.amount)}

    @app.post("/api/v1/admin/reservations", tags=["admin"], status_code=201, responses=_err(401, 403, 422))
    async def reserve(body: Reservation, _admin: Principal = Depends(admin)) -> dict[str, Any]:
        """Record reserved capacity in the public record."""
        return await pool.add_reservation(body.model_dump())

    @app.get("/api/v1/admin/cluster", tags=["admin"], responses=_err(401, 403))
    async def cluster(_admin: Principal = Depends(admin)) -> dict[str, Any]:
        """Where community nodes connect: the Dask scheduler's address and the sites."""
        return {"scheduler": pool.scheduler_address, "sites": list(pool.billing.sites)}

    @app.get("/metrics", include_in_schema=False)
    async def prometheus() -> Response:
        return metrics.response()

    @app.get("/api/v1/health", tags=["public"])
    async def health() -> dict[str, str]:
        """Liveness: the pool answers and knows its version."""
        return {"status": "ok", "version": __version__}

    return app


SUBMIT_PARAMETERS = [
    {"name": "wait", "in": "query", "required": False,
     "schema": {"type": "number", "maximum": 300, "minimum": 0, "default": 0.0, "title": "Wait"}},
    {"name": "fairshare-job", "in": "header", "required": True, "description": "JobSpec as JSON",
     "schema": {"type": "string", "description": "JobSpec as JSON", "title": "Fairshare-Job"}},
    {"name": "authorization", "in": "header", "required": False,
     "schema": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "Authorization"}},
]


def _wait(text: str | None) -> float:
    if text is None:
        return 0.0
    try:
        wait = float(text)
    except ValueError:
        wait = -1.0
    if not 0 <= wait <= 300:
        raise errors.Invalid(f"wait={text!r} is not a number of seconds from 0 to 300; send one in that range.")
    return wait
