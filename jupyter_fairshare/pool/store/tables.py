"""The pool's schema, one SQLAlchemy Core table per record kind.

Core rather than the ORM: the hot path (a submission, a settlement) is a handful of
statements, and Core keeps them visible and cheap. Every change to these tables ships with
an Alembic migration in ``migrations/versions`` so a pool upgraded in place keeps its data.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("tier", String(50), nullable=False),
    Column("role", String(20), nullable=False, default="user"),
    Column("shares", Float, nullable=False, default=1.0),
    Column("credits", Float, nullable=False, default=0.0),
    Column("held", Float, nullable=False, default=0.0),
    Column("usage", Float, nullable=False, default=0.0),
    Column("usage_at", Float, nullable=False, default=0.0),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("name", String(200), nullable=False, default=""),
    Column("kind", String(20), nullable=False),
    Column("state", String(20), nullable=False),
    Column("reason", String(200)),
    Column("error", Text),
    Column("cpus", Float, nullable=False),
    Column("memory", BigInteger, nullable=False),
    Column("gpus", Integer, nullable=False),
    Column("max_cost", Float, nullable=False),
    Column("hold", Float, nullable=False),
    Column("deadline", Float),
    Column("site_request", String(100)),
    Column("site", String(100)),
    Column("node", String(300)),
    Column("attempt", Integer, nullable=False, default=0),
    Column("submitted_at", Float, nullable=False),
    Column("started_at", Float),
    Column("finished_at", Float),
    Column("cost", Float, nullable=False, default=0.0),
    Column("bill", JSON),
    Column("meta", JSON),
    Column("payload_size", BigInteger, nullable=False, default=0),
    Index("ix_jobs_account_submitted", "account_id", "submitted_at"),
    Index("ix_jobs_state", "state"),
)

blobs = Table(
    "blobs",
    metadata,
    Column("job_id", String(32), ForeignKey("jobs.id"), primary_key=True),
    Column("kind", String(10), primary_key=True),
    Column("data", LargeBinary),
    # A payload too large to keep in a row is a file in the pool's spool directory.
    Column("path", String(1000)),
)

events = Table(
    "events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(32), nullable=False),
    Column("account_id", Integer, nullable=False),
    Column("type", String(20), nullable=False),
    Column("data", JSON, nullable=False),
    Column("ts", Float, nullable=False),
    Index("ix_events_job", "job_id", "seq"),
)

admissions = Table(
    "admissions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", Float, nullable=False),
    Column("tier", String(50), nullable=False),
    Column("site", String(100)),
    Column("accepted", Boolean, nullable=False),
    Column("reason", String(100)),
    Index("ix_admissions_ts", "ts"),
)

waits = Table(
    "waits",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", Float, nullable=False),
    Column("tier", String(50), nullable=False),
    Column("site", String(100), nullable=False),
    Column("wait", Float, nullable=False),
    Column("run", Float),
    # What the pool told the job it would wait, to publish how good its estimates are.
    Column("predicted_wait", Float),
    Column("predicted_uncertainty", Float),
    Index("ix_waits_ts", "ts"),
)

sites = Table(
    "sites",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("carbon", String(500), nullable=False),
    Column("watts_per_cpu", Float, nullable=False),
    Column("watts_per_gb", Float, nullable=False),
    Column("watts_per_gpu", Float, nullable=False),
    Column("created_at", Float, nullable=False),
)

prices = Table(
    "prices",
    metadata,
    Column("site", String(100), ForeignKey("sites.name"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("breakdown", JSON, nullable=False),
    Column("effective_at", Float, nullable=False),
)

reservations = Table(
    "reservations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("holder", String(200), nullable=False),
    Column("site", String(100), nullable=False),
    Column("cpus", Float, nullable=False),
    Column("memory", BigInteger, nullable=False, default=0),
    Column("gpus", Integer, nullable=False, default=0),
    Column("starts_at", Float, nullable=False),
    Column("ends_at", Float, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", Float, nullable=False),
)

ledger = Table(
    "ledger",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("job_id", String(32)),
    Column("ts", Float, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("amount", Float, nullable=False),
    Column("note", Text),
    Index("ix_ledger_job_kind", "job_id", "kind", unique=True),
)
