"""PostgreSQL plans of the hot statements stay cheap as tables grow (docs/durability.md).

The claim must reach each table by key, whatever the tables' sizes; it must be
planned for its own call rather than kept prepared with a plan made on small
tables; and a read must not make a connection forget the statements it prepared.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from callout.model.ids import ID_DIGITS, new_id
from callout.store.claim_statement import claim_at_once, claim_sql
from callout.store.database import JSON_CODEC, database_url
from callout.store.prepared_sql import POSTGRES_NOW
from callout.store.sql_store import SqlStore, open_store
from callout.store.sql_sync import SyncSqlStore
from support.seeded_runs import seed_runs

FINISHED = 20_000
DUE = 50


@pytest.fixture
async def large(pg_url: str) -> AsyncIterator[SqlStore]:
    """A store whose tables hold `FINISHED` finished runs and `DUE` due ones, never analyzed."""
    store = await open_store(database_url(pg_url))
    seed_runs(store.engine, "f", FINISHED, due=False)
    seed_runs(store.engine, "d", DUE, due=True)
    yield store
    await store.close()


def _scanned(plan: dict[str, Any]) -> Iterator[str]:
    """The tables a plan reads whole (sequential scans), anywhere in it."""
    if plan.get("Node Type") == "Seq Scan":
        yield plan["Relation Name"]
    for child in plan.get("Plans", []):
        yield from _scanned(child)


def test_a_claim_reaches_the_tables_by_key_when_they_are_large(large: SqlStore) -> None:
    statement = claim_sql(POSTGRES_NOW, one_run=False)
    parameters = {
        "token": "t",
        "lease_seconds": 30.0,
        "limit": 8,
        "attempt_base": new_id("att")[:-2],
        "digits": ID_DIGITS,
        "largest": 1000,
    }
    with large.engine.begin() as conn:
        explained = conn.execute(
            sa.text("EXPLAIN (FORMAT JSON) " + statement.text), parameters
        ).scalar_one()
        plan = (json.loads(explained) if isinstance(explained, str) else explained)[0]["Plan"]
        assert sorted(set(_scanned(plan))) == []
        # The premise: the statement explained is the one a claim runs, and it claims.
        claimed = claim_at_once(
            conn, lease_seconds=30, limit=8, run_id=None, attempt_id=lambda: new_id("att")
        )
    assert len(claimed) == 8
    assert all(claim.step_run_id.startswith("ds") for claim in claimed)


def _prepared(conn: sa.Connection) -> list[str]:
    return list(conn.exec_driver_sql("SELECT statement FROM pg_prepared_statements").scalars())


def test_a_claim_is_planned_for_each_call(large: SqlStore) -> None:
    with large.engine.connect() as conn:
        for _ in range(8):
            with conn.begin():
                claim_at_once(
                    conn, lease_seconds=30, limit=1, run_id=None, attempt_id=lambda: new_id("att")
                )
                conn.execute(sa.text("SELECT count(*) FROM runs WHERE id = :id"), {"id": "fr1"})
        with conn.begin():
            prepared = _prepared(conn)
    # psycopg prepares what a connection runs as often (the premise)...
    assert any("FROM runs WHERE id" in text for text in prepared)
    # ...but never the claim.
    assert not any("SKIP LOCKED" in text for text in prepared)


def test_a_read_keeps_the_connections_prepared_statements(pg_url: str) -> None:
    url = database_url(pg_url)
    engine = sa.create_engine(url.sqlalchemy_url, pool_size=1, max_overflow=0, **JSON_CODEC)
    store = SyncSqlStore(engine)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE things (status TEXT)")
        for _ in range(6):
            with engine.begin() as conn:
                conn.execute(sa.text("SELECT count(*) FROM things WHERE status = :s"), {"s": "x"})
        assert any("WHERE status" in text for text in store.reading(_prepared))  # the premise
        store.reading(lambda conn: conn.execute(sa.text("SELECT 1")).all())
        assert any("WHERE status" in text for text in store.reading(_prepared))
    finally:
        store.close()
