"""Opening the store: one engine per pool, migrated to the newest schema on open.

SQLite is the laptop default and runs in WAL mode, so the API's readers never wait for
the writer; ``synchronous=NORMAL`` keeps every commit durable across a process kill (only
a power cut can lose the newest commits, which WAL then rolls back cleanly). Checkpoints,
the one step that fsyncs, are left to the writer's background thread. PostgreSQL
is the same code by URL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, inspect

MIGRATIONS = Path(__file__).with_name("migrations")
HEAD = "0003"


def default_url(data_dir: Path) -> str:
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{data_dir / 'pool.db'}"


def open_engine(url: str) -> Engine:
    """An engine for ``url`` with the schema at the newest version."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling breaks SAVEPOINT, which the writer relies on:
        # take it over and begin transactions ourselves.
        event.listen(engine, "begin", lambda conn: conn.connection.driver_connection.execute("BEGIN"))
    else:
        engine = create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
    migrate(engine)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA wal_autocheckpoint=0")  # the writer checkpoints off the event loop
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
    dbapi_connection.isolation_level = None


def migrate(engine: Engine) -> None:
    """Bring the schema to ``HEAD``; a no-op when it is there already."""
    with engine.begin() as connection:
        if _current_revision(connection) == HEAD:
            return
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _current_revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    revision = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    return None if revision is None else str(revision)
