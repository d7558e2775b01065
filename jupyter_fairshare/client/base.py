"""What :class:`~.Client` and :class:`~.AsyncClient` share: the requests and the reading of answers.

Each public call is two steps that never touch a socket: build a
:class:`~.transport.Request` for the endpoint, and, once a transport has the answer, turn a
failure into an error of :mod:`.errors` that carries the pool's own ``detail`` sentence.
The two clients differ only in how they wait for the transport, so every endpoint is a
one-line method in each and its request is written once, here.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from . import errors
from .transport import READ_TIMEOUT, Request, Response, TransportError

__all__ = [
    "API", "HEALTH_TIMEOUT", "LOOPBACK", "READ_TIMEOUT", "BaseClient", "blob", "error_for", "json_list", "json_object",
]

API = "/api/v1"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
# A live pool answers its health route at once; a pool that takes longer counts as not there.
HEALTH_TIMEOUT = 2.0
PUBLIC_VIEWS = ("prices", "sites", "queue", "stats", "reservations")
OCTETS = "application/octet-stream"


def _detail(response: Response) -> tuple[str, dict[str, Any]]:
    try:
        body = response.json()
    except ValueError:
        return response.content.decode("utf-8", "replace").strip(), {}
    if isinstance(body, dict):
        detail = body.get("detail")
        if isinstance(detail, str):
            return detail, body
        return (json.dumps(detail) if detail is not None else ""), body
    return "", {}


def error_for(response: Response, where: str, payload_size: int | None = None) -> errors.FairshareError:
    """The hierarchy's error for a failed answer (status 400 and up), keeping the pool's sentence.

    The mapping is by status, as the pool's error tree maps to statuses in one place; the
    pool's machine-readable ``code`` is kept on the error as ``code``.
    """
    status = response.status
    detail, body = _detail(response)
    error: errors.FairshareError
    if status in (401, 403):
        error = errors.BadToken(
            detail
            or "The pool did not accept the token; check FAIRSHARE_TOKEN or run `%fairshare connect URL --token T`."
        )
    elif status == 402:
        error = errors.CreditsTooLow(
            detail or "The account's balance does not cover this job's estimate; ask the pool's admin for credits.",
            estimate=body.get("estimate"),
            balance=body.get("balance"),
        )
    elif status == 404:
        error = errors.JobNotFound(detail or f"Nothing at {where}; check the job id with `%fairshare jobs`.")
    elif status == 413:
        limit = body.get("limit")
        size = body.get("size", payload_size)
        error = errors.PayloadTooLarge(
            detail
            or f"The payload is {size} bytes, over the pool's limit of {limit} bytes; "
            "send less data or read it on the worker.",
            limit=limit,
            size=size,
        )
    elif status in (400, 409, 422):
        error = errors.BadRequest(detail or f"The pool refused the request to {where} ({status}).")
    else:
        error = errors.PoolError(
            detail or f"The pool answered {status} to {where}; try again, and tell the pool's admin if it persists."
        )
    code = body.get("code")
    error.code = code if isinstance(code, str) else None
    return error


def json_object(response: Response) -> dict[str, Any]:
    """The answer's JSON object; anything else is the pool misbehaving."""
    body = _json(response)
    if not isinstance(body, dict):
        raise errors.PoolError("The pool answered with something other than a JSON object; tell the pool's admin.")
    return body


def json_list(response: Response, key: str) -> list[dict[str, Any]]:
    """The list under ``key`` of the answer's JSON object."""
    items = json_object(response).get(key)
    if not isinstance(items, list):
        raise errors.PoolError(f"The pool's answer has no {key!r} list; tell the pool's admin.")
    return items


def blob(response: Response) -> bytearray:
    """The answer's body as mutable memory; the transports already read it so, without a copy."""
    content = response.content
    return content if isinstance(content, bytearray) else bytearray(content)


def _json(response: Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise errors.PoolError("The pool answered with something other than JSON; tell the pool's admin.") from None


class BaseClient:
    """The pool's URL and token, and every endpoint's :class:`Request`."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self._auth = {"Authorization": f"Bearer {token}"} if token else {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    def on_this_host(self) -> bool:
        """Whether the pool's URL points at this machine (loopback); no request is made."""
        return urlsplit(self.url).hostname in LOOPBACK

    # -- requests ----------------------------------------------------------------------

    def _get(self, path: str, params: dict[str, str] | None = None, timeout: float = READ_TIMEOUT) -> Request:
        return Request("GET", path, params or {}, self._auth, b"", timeout)

    def _post(self, path: str, body: dict[str, Any] | None = None) -> Request:
        if body is None:
            return Request("POST", path, {}, self._auth)
        return Request("POST", path, {}, {**self._auth, "Content-Type": "application/json"},
                       json.dumps(body).encode())

    def _submit(self, payload: bytes, meta: dict[str, Any], wait: float | None,
                payload_file: str | None) -> Request:
        headers = {**self._auth, "Content-Type": OCTETS, "Fairshare-Job": json.dumps(meta)}
        if payload_file is not None:
            headers["Fairshare-Payload-File"] = payload_file
            payload = b""
        # The request holds until the job ends or ``wait`` passes, so it may read that much longer.
        return Request("POST", "/jobs", {"wait": f"{wait:g}"} if wait else {}, headers, payload,
                       READ_TIMEOUT + (wait or 0))

    def _jobs(self, state: str | None, limit: int | None) -> Request:
        params = {k: str(v) for k, v in (("state", state), ("limit", limit)) if v is not None}
        return self._get("/jobs", params)

    def _public(self, view: str) -> Request:
        if view not in PUBLIC_VIEWS:
            raise ValueError(f"There is no public view {view!r}; choose one of {', '.join(PUBLIC_VIEWS)}.")
        return self._get(f"/public/{view}")

    def _events(self, job_id: str | None, last_event_id: str | None, timeout: float | None) -> Request:
        headers = {**self._auth, "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        return Request("GET", "/events" if job_id is None else f"/jobs/{job_id}/events", {}, headers, b"", timeout)

    # -- answers -----------------------------------------------------------------------

    def _checked(self, request: Request, response: Response, payload_size: int | None = None) -> Response:
        if response.status >= 400:
            raise error_for(response, self.url + API + request.path, payload_size)
        return response

    def _unreachable(self, exc: TransportError) -> errors.PoolUnreachable:
        return errors.PoolUnreachable(self.url, str(exc))

    def _silent(self, job_id: str | None, timeout: float | None) -> TimeoutError:
        what = f"Job {job_id}" if job_id else "The account's event stream"
        return TimeoutError(
            f"{what} sent no news within {timeout} s; it is still on the pool, so follow it again later.")
