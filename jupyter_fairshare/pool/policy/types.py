"""Plain data the policy reads and returns.

Everything here is a frozen dataclass: the policy never mutates what it is handed, so the
dispatcher and the simulator can pass the same records around without copying them.
Times are Unix epoch seconds, memory is bytes, usage is billing units (see
:func:`~jupyter_fairshare.pool.policy.fairshare.billing_units`).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    """The knobs of the policy; the defaults follow Slurm's multifactor defaults in spirit.

    ``fairshare_weight`` is ten times ``age_weight`` so that fair share decides the order and
    age only breaks near-ties, until a job has waited long enough to matter (``max_age``).
    ``backfill_depth`` bounds how many jobs one :meth:`Scheduler.decide` call may look past a
    blocked job, as Slurm's ``bf_max_job_test`` does, so a deep queue cannot stall a decision.
    ``renormalise`` is the relative drift of the pool's total usage after which every
    account's fair-share factor is recomputed (see :mod:`.fairshare`).
    ``standing_staleness`` is how many seconds a computed queue snapshot may be served for
    when nothing changed but the clock.
    """

    half_life: float = 7 * 86400.0
    newcomer_reserve: float = 0.2
    fairshare_weight: float = 1000.0
    age_weight: float = 100.0
    max_age: float = 86400.0
    cpu_weight: float = 1.0
    memory_gb_weight: float = 0.25
    gpu_weight: float = 20.0
    newcomer_tier: str = "newcomer"
    backfill_depth: int = 1000
    renormalise: float = 0.05
    standing_staleness: float = 5.0


@dataclass(frozen=True, slots=True)
class AccountState:
    """An account as the ledger knows it; ``usage`` is decayed to the ``usage_at`` given with it."""

    name: str
    tier: str
    shares: float
    usage: float


@dataclass(frozen=True, slots=True)
class QueuedJob:
    """A job waiting for capacity; ``site`` pins it to one site, ``None`` lets it go anywhere."""

    id: str
    account: str
    tier: str
    cpus: float
    memory: int
    gpus: int
    submitted_at: float
    site: str | None = None
    expected_seconds: float = 60.0


@dataclass(frozen=True, slots=True)
class RunningJob:
    """A job holding capacity on ``node`` since ``started_at``."""

    id: str
    account: str
    tier: str
    cpus: float
    memory: int
    gpus: int
    node: str
    started_at: float
    expected_seconds: float = 60.0


@dataclass(frozen=True, slots=True)
class Node:
    """The capacity of one Dask worker at one site."""

    name: str
    site: str
    cpus: float
    memory: int
    gpus: int


@dataclass(frozen=True, slots=True)
class SiteState:
    """A site's signals now: grams CO2e per kWh and its price per CPU-second."""

    name: str
    carbon_intensity: float
    cpu_price: float


@dataclass(frozen=True, slots=True)
class Start:
    """A decision: run ``job`` on ``node`` (at ``site``) now."""

    job: str
    node: str
    site: str


@dataclass(frozen=True, slots=True)
class Standing:
    """Where a queued job stands and why: what the API and the sidebar show.

    ``position`` is 1-based in the order jobs would start; ``expected_start`` is absolute
    time, give or take ``uncertainty`` seconds; ``components`` holds at least
    ``fairshare``, ``age``, ``reserve`` and ``priority`` (their sum).
    """

    job: str
    position: int
    queue_length: int
    expected_start: float
    uncertainty: float
    components: dict[str, float] = field(default_factory=dict)
