"""The HTTP API: thin handlers that turn requests into calls on the :class:`Pool`.

FastAPI gives us the OpenAPI spec (``/openapi.json``) from the same declarations that
validate requests, so the published contract cannot drift from what the pool accepts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import ValidationError

from ..._version import __version__
from .. import accounts, jobs
from .metrics import Metrics
from .plots import waits_svg
from .schemas import Account, AccountCreate, Job, JobList, JobSpec, Reservation, TopUp
from ..pool import Pool, PoolError

KEEPALIVE = 15.0


def _job(job: dict, status: int = 200) -> Response:
    """A job answer, checked against ``Job`` by pydantic's own serialiser: FastAPI's generic
    response path (validate, then ``jsonable_encoder``) costs several times as much, and the
    job endpoints are the ones a waiting notebook cell goes through."""
    return Response(Job.model_validate(job).model_dump_json(), status_code=status, media_type="application/json")


def create_app(pool: Pool, lifespan=None) -> FastAPI:
    app = FastAPI(
        title="jupyter-fairshare pool",
        version=__version__,
        description="A fair-share compute pool: queue, prices, carbon and bills. See docs/http-api.md.",
        lifespan=lifespan,
    )
    metrics = Metrics(pool)

    @app.exception_handler(PoolError)
    async def _pool_error(_request: Request, exc: PoolError) -> JSONResponse:
        return JSONResponse({"detail": str(exc), **exc.details}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _sentence(exc.errors())}, status_code=422)

    def bearer(authorization: str | None) -> accounts.Principal:
        if not authorization or not authorization.startswith("Bearer "):
            raise PoolError(401, "No token was sent; pass Authorization: Bearer <token> (set FAIRSHARE_TOKEN).")
        return pool.principal(authorization[len("Bearer "):].strip())

    async def principal(authorization: str | None = Header(None)) -> accounts.Principal:
        # async: a plain def dependency would cost a thread-pool hop on every request
        return bearer(authorization)

    async def admin(who: accounts.Principal = Depends(principal)) -> accounts.Principal:
        if who.role != "admin":
            raise PoolError(403, "This needs an admin token; ask the pool's operator.")
        return who

    @app.post("/api/v1/jobs", response_model=Job, status_code=201, tags=["jobs"],
              responses={422: {"description": "Invalid metadata or parameters: `detail` says which and how to fix it"}},
              openapi_extra={"parameters": SUBMIT_PARAMETERS, "requestBody": {
                  "required": True, "content": {"application/octet-stream": {
                      "schema": {"type": "string", "format": "binary"}}}}})
    async def submit(request: Request):
        """Submit a job: the body is the opaque payload, the header its metadata."""
        # The parameters are read here rather than declared to FastAPI, whose solving of
        # them cost a sixth of the pool's CPU per job; SUBMIT_PARAMETERS documents them.
        who = bearer(request.headers.get("authorization"))
        fairshare_job = request.headers.get("fairshare-job")
        if fairshare_job is None:
            raise PoolError(422, "The Fairshare-Job header is missing; send the job's metadata as JSON in it.")
        wait = _wait(request.query_params.get("wait"))
        try:
            spec = JobSpec.model_validate_json(fairshare_job)
        except ValidationError as exc:
            metrics.refused("metadata")
            await pool.writer(lambda c: jobs.refuse(c, who.tier, None, "metadata"))
            raise PoolError(422, _sentence(exc.errors())) from None
        payload = await pool.receive(request, who, spec)
        job = await pool.submit(who, spec, payload)
        metrics.accepted()
        if wait:
            job = await pool.wait(job["id"], who, wait)
        return _job(job, 201)

    @app.get("/api/v1/jobs", response_model=JobList, tags=["jobs"])
    async def list_jobs(state: str | None = None, limit: int = Query(100, ge=1, le=10000),
                        who: accounts.Principal = Depends(principal)):
        """This account's jobs, newest first."""
        return {"jobs": await asyncio.to_thread(pool.listing, who, state, limit)}

    @app.get("/api/v1/jobs/{job_id}", response_model=Job, tags=["jobs"])
    async def get_job(job_id: str, wait: float = Query(0.0, ge=0, le=300), who: accounts.Principal = Depends(principal)):
        """One job of this account, with its queue position while it waits."""
        return _job(await pool.wait(job_id, who, wait))

    @app.get("/api/v1/jobs/{job_id}/result", tags=["jobs"], response_class=Response)
    async def result(job_id: str, who: accounts.Principal = Depends(principal)):
        """The job's result blob, opaque to the pool."""
        data = await asyncio.to_thread(pool.result, job_id, who)
        return Response(data, media_type="application/octet-stream")

    @app.post("/api/v1/jobs/{job_id}/cancel", response_model=Job, tags=["jobs"])
    async def cancel(job_id: str, who: accounts.Principal = Depends(principal)):
        """Cancel a queued job (nothing is charged) or stop a running one (billed to now)."""
        return await pool.cancel(job_id, who)

    @app.get("/api/v1/jobs/{job_id}/why", tags=["jobs"])
    async def why(job_id: str, who: accounts.Principal = Depends(principal)):
        """Why the job waits: its priority components and what is ahead of it."""
        return pool.why(job_id, who)

    @app.get("/api/v1/jobs/{job_id}/events", tags=["events"])
    async def job_events(job_id: str, last_event_id: int = Header(0), who: accounts.Principal = Depends(principal)):
        """Server-sent events of one job, from its first (or after Last-Event-ID) to its last."""
        pool.view(job_id, who)
        return _sse(pool.hub.job_stream(pool.engine, job_id, last_event_id, lambda: pool.position_event(job_id)))

    @app.get("/api/v1/events", tags=["events"])
    async def account_events(who: accounts.Principal = Depends(principal)):
        """Server-sent events of all this account's jobs, live."""
        return _sse(pool.hub.account_stream(who.id))

    @app.get("/api/v1/spool", tags=["jobs"])
    async def spool(who: accounts.Principal = Depends(principal)):
        """Where a client on the pool's own host may write a large payload (then submit it by
        naming the file in the Fairshare-Payload-File header, with an empty body)."""
        return pool.spool_info()

    @app.get("/api/v1/account", response_model=Account, tags=["account"])
    async def account(who: accounts.Principal = Depends(principal)):
        """This account's tier, shares, credits, holds and usage."""
        return pool.account(who)

    @app.get("/api/v1/public/prices", tags=["public"])
    async def public_prices():
        """Each site's unit prices with the cost breakdown they come from."""
        return pool.public_prices()

    @app.get("/api/v1/public/sites", tags=["public"])
    async def public_sites():
        """Sites with their capacity, free capacity and carbon intensity now."""
        return pool.public_sites()

    @app.get("/api/v1/public/queue", tags=["public"])
    async def public_queue():
        """The queue, anonymised, with every job's priority components."""
        return pool.public_queue()

    @app.get("/api/v1/public/stats", tags=["public"])
    async def public_stats():
        """Wait percentiles, acceptance rates and utilisation per tier and site."""
        return await asyncio.to_thread(pool.public_stats)

    @app.get("/api/v1/public/stats.svg", tags=["public"], response_class=Response)
    async def public_stats_plot(window: str = Query("24h", pattern="^(1h|24h|7d)$")):
        """The published wait percentiles as an SVG chart."""
        return Response(waits_svg(await asyncio.to_thread(pool.public_stats), window), media_type="image/svg+xml")

    @app.get("/api/v1/public/reservations", tags=["public"])
    async def public_reservations():
        """The public record of reserved or exclusive capacity: who, how much, when, why."""
        return pool.public_reservations()

    @app.post("/api/v1/admin/accounts", tags=["admin"], status_code=201)
    async def add_account(body: AccountCreate, _admin=Depends(admin)):
        """Create an account; the token is in the response, once."""
        try:
            token = await pool.writer(lambda c: accounts.create(c, body.name, body.tier, body.shares, body.credits, body.role))
        except accounts.AccountError as exc:
            raise PoolError(409 if "exists" in str(exc) else 422, str(exc)) from None
        pool.account_changed(body.name)
        return {"name": body.name, "token": token}

    @app.get("/api/v1/admin/accounts", tags=["admin"])
    async def list_accounts(_admin=Depends(admin)):
        """All accounts with their credits and usage."""
        return {"accounts": await pool.writer(accounts.listing)}

    @app.post("/api/v1/admin/accounts/{name}/credits", tags=["admin"])
    async def top_up(name: str, body: TopUp, _admin=Depends(admin)):
        """Add credits to an account."""
        try:
            credits = await pool.writer(lambda c: accounts.top_up(c, name, body.amount))
        except accounts.AccountError as exc:
            raise PoolError(404, str(exc)) from None
        return {"name": name, "credits": credits}

    @app.post("/api/v1/admin/reservations", tags=["admin"], status_code=201)
    async def reserve(body: Reservation, _admin=Depends(admin)):
        """Record reserved capacity in the public record."""
        return await pool.add_reservation(body)

    @app.get("/api/v1/admin/cluster", tags=["admin"])
    async def cluster(_admin=Depends(admin)):
        """Where community nodes connect: the Dask scheduler's address and the sites."""
        return {"scheduler": pool.dispatcher.client.scheduler.address, "sites": list(pool.sites)}

    @app.get("/metrics", include_in_schema=False)
    async def prometheus():
        return metrics.response()

    @app.get("/api/v1/health", tags=["public"])
    async def health():
        """Liveness: the pool answers and knows its version."""
        return {"status": "ok", "version": __version__}

    return app


def _sse(events: AsyncIterator) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        iterator = events.__aiter__()
        pending = asyncio.ensure_future(iterator.__anext__())
        try:
            while True:
                done, _ = await asyncio.wait({pending}, timeout=KEEPALIVE)
                if not done:
                    yield b": keep-alive\n\n"
                    continue
                try:
                    event = pending.result()
                except StopAsyncIteration:
                    return
                yield event.sse()
                pending = asyncio.ensure_future(iterator.__anext__())
        finally:
            pending.cancel()
            await iterator.aclose()

    return StreamingResponse(body(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


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
        raise PoolError(422, f"wait={text!r} is not a number of seconds from 0 to 300; send one in that range.")
    return wait


def _sentence(errors: list) -> str:
    """Pydantic's error list as one sentence naming the field and the fix."""
    if not errors:
        return "The request is malformed; check it against /openapi.json."
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "header", "query"))
    message = first.get("msg", "is invalid")
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return f"The job's {where or 'metadata'} is invalid: {message}{more}; fix it and submit again." if where else \
        f"The job metadata is invalid: {message}{more}; send JSON as described in /openapi.json."
