"""Prepared statements: the same rows as SQLAlchemy's own execution, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, insert, select, update

from jupyter_fairshare.pool.store import accounts
from jupyter_fairshare.pool.store.db import open_engine
from jupyter_fairshare.pool.store.prepared import Prepared
from jupyter_fairshare.pool.store.tables import accounts as accounts_table
from jupyter_fairshare.pool.store.tables import events, ledger


def test_prepared_writes_read_back_as_sqlalchemy_wrote_them(store_url):
    engine = open_engine(store_url)
    insert_event = Prepared(insert(events).returning(events.c.seq))
    insert_ledger = Prepared(insert(ledger))
    charge = Prepared(update(accounts_table).where(accounts_table.c.id == bindparam("_id"))
                      .values(credits=accounts_table.c.credits - bindparam("total")))
    with engine.begin() as connection:
        accounts.create(connection, "ada", "standard", credits=10.0)
        account = connection.execute(select(accounts_table.c.id)).scalar()
        data = {"state": "done", "bill": {"total": 0.25, "lines": [1, 2]}, "error": None}
        seqs = [insert_event.run(connection, {"job_id": f"j{i}", "account_id": account, "type": "done",
                                              "data": data, "ts": 1.5}).fetchone()[0] for i in range(3)]
        insert_ledger.run_many(connection, [{"account_id": account, "job_id": f"j{i}", "ts": 2.0, "kind": "charge",
                                             "amount": -0.25, "note": "done"} for i in range(2)])
        changed = charge.run(connection, {"_id": account, "total": 0.5}).rowcount
        missed = charge.run(connection, {"_id": account + 1000, "total": 0.5}).rowcount
    with engine.connect() as connection:
        stored = connection.execute(select(events.c.seq, events.c.data).order_by(events.c.seq)).all()
        charges = connection.execute(select(ledger.c.amount).where(ledger.c.kind == "charge")).scalars().all()
        credits = connection.execute(select(accounts_table.c.credits)).scalar()
    engine.dispose()
    assert [seq for seq, _ in stored] == seqs and len(set(seqs)) == 3
    assert all(row_data == data for _, row_data in stored)  # JSON went through the column type
    assert charges == [-0.25, -0.25]
    assert (changed, missed) == (1, 0)
    assert credits == pytest.approx(9.5)
