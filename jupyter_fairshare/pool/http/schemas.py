"""The shapes the HTTP API accepts and returns, as pydantic models for the OpenAPI spec."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..config import parse_size


class JobSpec(BaseModel):
    """A submission's metadata, sent as JSON in the ``Fairshare-Job`` header."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(None, pattern=r"^[0-9a-f]{32}$",
                           description="a client-chosen id (32 hex digits): resubmitting it is a no-op, and the "
                                       "client can cancel a job whose submission it interrupted")
    kind: Literal["cell", "call", "graph"] = "call"
    name: str = Field("", max_length=200)
    cpus: float = Field(1.0, gt=0, le=4096)
    memory: int | str = 2 * 10**9
    gpus: int = Field(0, ge=0, le=64)
    max_cost: float | None = Field(None, gt=0)
    deadline: float | None = Field(None, gt=0, description="seconds from now the job may wait for a greener window")
    site: str | None = None
    versions: dict[str, str] = Field(default_factory=dict)
    notebook: str | None = Field(None, max_length=1000, description="path of the notebook the job came from")
    cell: str | None = Field(None, max_length=200, description="id of the cell the job came from")

    @field_validator("memory")
    @classmethod
    def _memory(cls, value: int | str) -> int:
        size = parse_size(value)
        if size <= 0:
            raise ValueError("memory must be more than 0 bytes, such as 2GB")
        return size


class Bill(BaseModel):
    lines: list[dict[str, Any]]
    total: float
    capped: bool
    site: str
    price_version: int
    energy_kwh: float
    carbon_intensity: float
    co2e_g: float
    cpu_seconds: float
    wall_seconds: float
    peak_memory: int


class Job(BaseModel):
    id: str
    name: str
    kind: str
    state: Literal["queued", "running", "done", "failed", "cancelled"]
    reason: str | None = None
    error: str | None = None
    cpus: float
    memory: int
    gpus: int
    max_cost: float
    hold: float
    site: str | None = None
    attempt: int
    submitted_at: float
    started_at: float | None = None
    finished_at: float | None = None
    position: int | None = None
    queue_length: int | None = None
    expected_start: float | None = None
    cost: float = 0.0
    bill: Bill | None = None
    progress: dict[str, int] | None = None
    notebook: str | None = None
    cell: str | None = None
    greener_window: dict[str, float] | None = None
    inline: dict[str, Any] | None = Field(None, description="with ?wait, for a job that ended: its output events "
                                                   "and its result blob (base64), when both are small")


class JobList(BaseModel):
    jobs: list[Job]


class Account(BaseModel):
    name: str
    tier: str
    role: str
    shares: float
    credits: float
    held: float
    balance: float
    usage: float


class AccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    tier: str = "standard"
    shares: float = Field(1.0, gt=0)
    credits: float = Field(0.0, ge=0)
    role: Literal["user", "admin"] = "user"


class TopUp(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: float = Field(gt=0)


class Reservation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    holder: str = Field(min_length=1, max_length=200)
    site: str
    cpus: float = Field(gt=0)
    memory: int | str = 0
    gpus: int = Field(0, ge=0)
    starts_at: float
    ends_at: float
    reason: str = Field(min_length=1)

    @field_validator("memory")
    @classmethod
    def _memory(cls, value: int | str) -> int:
        return parse_size(value)


class ErrorBody(BaseModel):
    """What every refusal answers: one sentence, a machine-readable code, and details by code
    (``limit`` and ``size`` for payload_too_large, ``estimate`` and ``balance`` for credits_too_low)."""

    model_config = ConfigDict(extra="allow")
    detail: str = Field(description="what happened and what to do, in one sentence")
    code: str = Field(description="unauthorized, forbidden, not_found, conflict, no_result, invalid, "
                                  "no_site_fits, credits_too_low or payload_too_large")


def sentence(errors: Sequence[Any]) -> str:
    """Pydantic's error list as one sentence naming the field and the fix."""
    if not errors:
        return "The request is malformed; check it against /openapi.json."
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "header", "query"))
    message = first.get("msg", "is invalid")
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    if where:
        return f"The job's {where} is invalid: {message}{more}; fix it and submit again."
    return f"The job metadata is invalid: {message}{more}; send JSON as described in /openapi.json."
