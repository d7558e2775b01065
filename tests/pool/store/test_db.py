"""The store: migrations bring any database to the newest schema and keep its data."""

from __future__ import annotations

from sqlalchemy import inspect, select

from jupyter_fairshare.pool.store import accounts
from jupyter_fairshare.pool.store.db import HEAD, open_engine
from jupyter_fairshare.pool.store.tables import accounts as accounts_table
from jupyter_fairshare.pool.store.tables import metadata
from tests.conftest import postgres_url, reset_postgres


def test_a_new_sqlite_store_is_migrated_to_head_in_wal_mode(tmp_path):
    engine = open_engine(f"sqlite:///{tmp_path / 'pool.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == HEAD
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert set(metadata.tables) <= set(inspect(connection).get_table_names())
    engine.dispose()


def test_reopening_an_upgraded_store_keeps_its_accounts(tmp_path):
    url = f"sqlite:///{tmp_path / 'pool.db'}"
    engine = open_engine(url)
    with engine.begin() as connection:
        token = accounts.create(connection, "ada", "newcomer", credits=5.0)
    engine.dispose()
    engine = open_engine(url)
    with engine.connect() as connection:
        assert accounts.by_token(connection, token).name == "ada"
        stored = connection.execute(select(accounts_table.c.token_hash)).scalar()
    assert token not in stored and len(stored) == 64  # only the hash is kept
    engine.dispose()


def test_postgresql_gets_the_same_schema():
    url = postgres_url()
    reset_postgres(url)
    engine = open_engine(url)
    with engine.begin() as connection:
        assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == HEAD
        accounts.create(connection, "grace", "standard", credits=1.0)
    with engine.connect() as connection:
        assert [a["name"] for a in accounts.listing(connection)] == ["grace"]
    engine.dispose()


def test_a_store_made_by_an_older_version_is_upgraded_in_place_and_keeps_its_data(tmp_path):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    from jupyter_fairshare.pool.store.db import MIGRATIONS

    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = create_engine(url)
    with old.begin() as connection:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.exec_driver_sql(
            "INSERT INTO waits (ts, tier, site, wait, run) VALUES (1, 'standard', 'local', 2.5, 1)")
    old.dispose()
    engine = open_engine(url)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == HEAD
        assert connection.exec_driver_sql("SELECT wait, predicted_wait FROM waits").one() == (2.5, None)
    engine.dispose()
