"""PostgreSQL plans of the hot statements stay cheap as tables grow (docs/durability.md).

The claim must reach each table by key, whatever the tables' sizes; its plan must
not be kept for ever from small tables; and a read must not make a connection
forget the statements it prepared, nor cost a transaction of its own.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import psycopg.pq
import psycopg.sql
import pytest
import sqlalchemy as sa

from callout.model.ids import ID_DIGITS, new_id
from callout.store import prepared_sql
from callout.store.claim_statement import claim_at_once, claim_sql
from callout.store.database import JSON_CODEC, database_url, open_engine
from callout.store.prepared_sql import POSTGRES_NOW
from callout.store.read_snapshot import one_snapshot
from callout.store.sql_store import SqlStore, open_store
from callout.store.sql_sync import SyncSqlStore
from support.seeded_runs import seed_runs

FINISHED = 20_000
DUE = 50
DUE_INDEX = "ix_step_runs_due"
CLAIM_PARAMETERS: dict[str, Any] = {
    "token": "t",
    "lease_seconds": 30.0,
    "limit": 8,
    "attempt_base": new_id("att")[:-2],
    "digits": ID_DIGITS,
    "largest": 1000,
}


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


def _plan(explained: Any) -> dict[str, Any]:
    plan: dict[str, Any] = (json.loads(explained) if isinstance(explained, str) else explained)[0][
        "Plan"
    ]
    return plan


def test_a_claim_reaches_the_tables_by_key_when_they_are_large(large: SqlStore) -> None:
    statement = claim_sql(POSTGRES_NOW, one_run=False)
    with large.engine.begin() as conn:
        explained = conn.execute(
            sa.text("EXPLAIN (FORMAT JSON) " + statement.text), CLAIM_PARAMETERS
        ).scalar_one()
        assert sorted(set(_scanned(_plan(explained)))) == []
        # The premise: the statement explained is the one a claim runs, and it claims.
        claimed = claim_at_once(
            conn, lease_seconds=30, limit=8, run_id=None, attempt_id=lambda: new_id("att")
        )
    assert len(claimed) == 8
    assert all(claim.step_run_id.startswith("ds") for claim in claimed)


def _prepared(conn: sa.Connection) -> list[str]:
    return list(conn.exec_driver_sql("SELECT statement FROM pg_prepared_statements").scalars())


def _claim(conn: sa.Connection) -> None:
    with conn.begin():
        claim_at_once(
            conn, lease_seconds=30, limit=1, run_id=None, attempt_id=lambda: new_id("att")
        )


def _kept_plan(conn: sa.Connection) -> dict[str, Any]:
    """The plan PostgreSQL keeps for the connection's prepared claim."""
    with conn.begin():
        conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")  # as a claim runs
        [(name, text, types)] = conn.exec_driver_sql(
            "SELECT name, statement, CAST(parameter_types AS TEXT[]) FROM pg_prepared_statements "
            "WHERE statement LIKE %(claim)s",
            {"claim": "%SKIP LOCKED%"},
        ).all()
        names = list(
            dict.fromkeys(re.findall(r":(\w+)", claim_sql(POSTGRES_NOW, one_run=False).text))
        )
        assert len(types) == len(names)  # the premise: psycopg's $n, in the same order
        assert f"${len(names)}" in text
        # EXECUTE takes no parameters of its own: the values go in as literals, typed.
        driver = conn.connection.driver_connection
        arguments = ", ".join(
            f"CAST({psycopg.sql.Literal(CLAIM_PARAMETERS[each]).as_string(driver)} AS {kind})"
            for each, kind in zip(names, types, strict=True)
        )
        explained = conn.exec_driver_sql(
            f"EXPLAIN (FORMAT JSON) EXECUTE {name}({arguments})"
        ).scalar_one()
    return _plan(explained)


def _kept_plan_scans(conn: sa.Connection) -> list[str]:
    """The tables that the plan PostgreSQL keeps for the connection's prepared claim scans."""
    return sorted(set(_scanned(_kept_plan(conn))))


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _expected_due(plan: dict[str, Any]) -> float:
    """The rows a claim's plan expects its look-up of due step runs to find."""
    [rows] = [node["Plan Rows"] for node in _nodes(plan) if node.get("Index Name") == DUE_INDEX]
    return float(rows)


def test_a_claims_plan_is_made_again_once_a_second(
    pg_store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prepared_sql, "REPLAN_EVERY", 3600.0)
    seed_runs(pg_store.engine, "d", 40, due=True)
    with pg_store.engine.connect() as conn:
        for _ in range(20):  # prepared by psycopg, then planned generically by PostgreSQL
            _claim(conn)
        young = _expected_due(_kept_plan(conn))
        seed_runs(pg_store.engine, "f", FINISHED, due=False)
        # The premise: the plan is kept from the young tables (never analyzed, they are
        # measured by their size when a plan is made), though they grew 500-fold.
        assert _expected_due(_kept_plan(conn)) == young
        monkeypatch.setattr(prepared_sql, "REPLAN_EVERY", 0.0)  # its second is up
        _claim(conn)
        assert _expected_due(_kept_plan(conn)) > young  # made again, on the grown tables
        assert _kept_plan_scans(conn) == []


def test_a_claims_plan_made_on_a_young_database_reaches_its_tables_by_key(
    pg_store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prepared_sql, "REPLAN_EVERY", 3600.0)  # the plan is never made again
    seed_runs(pg_store.engine, "d", 40, due=True)
    with pg_store.engine.connect() as conn:
        for _ in range(20):  # prepared by psycopg, then planned generically by PostgreSQL
            _claim(conn)
        seed_runs(pg_store.engine, "f", FINISHED, due=False)
        # Planned on tables of a few pages, the planner's own choice scans them whole,
        # then goes on scanning them once they are large, once per row claimed.
        assert _kept_plan_scans(conn) == []


def test_a_claim_runs_on_a_generic_plan_not_one_made_for_each_call(pg_store: SqlStore) -> None:
    seed_runs(pg_store.engine, "d", 40, due=True)
    with pg_store.engine.connect() as conn:
        for _ in range(16):  # the first five unprepared (psycopg), the rest prepared
            _claim(conn)
        with conn.begin():
            [(generic, custom)] = conn.exec_driver_sql(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                "WHERE statement LIKE %(claim)s",
                {"claim": "%SKIP LOCKED%"},
            ).all()
    # PostgreSQL's own choice would plan the first five for their values, and go on
    # doing so while it deems that cheaper (a claim's LIMIT is the worker's free slots).
    assert generic >= 10  # the premise: prepared, run again and again
    assert custom == 0


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


def test_the_pool_hands_out_the_connection_given_back_last(pg_url: str) -> None:
    engine = open_engine(database_url(pg_url))
    try:
        held = [engine.connect() for _ in range(3)]
        pids = [conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() for conn in held]
        for conn in held:
            conn.close()
        with engine.connect() as conn:
            again = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        assert again == pids[-1]  # warm: its prepared statements and plans are the newest
    finally:
        engine.dispose()


def test_a_read_is_one_statement_outside_any_transaction_and_a_snapshot_still_is_one(
    pg_url: str,
) -> None:
    url = database_url(pg_url)
    engine = sa.create_engine(url.sqlalchemy_url, pool_size=1, max_overflow=0, **JSON_CODEC)
    store = SyncSqlStore(engine)

    def seen(conn: sa.Connection) -> tuple[str, bool]:
        isolation = conn.exec_driver_sql("SHOW transaction_isolation").scalar_one()
        driver: Any = conn.connection.driver_connection
        return isolation, driver.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS

    try:
        # A plain read: no BEGIN, no end (autocommit), as READ COMMITTED would see anyway.
        assert store.reading(seen) == ("read committed", False)
        with store._reading() as conn, one_snapshot(conn):
            assert seen(conn) == ("repeatable read", True)
        # The one connection, given back, writes in a transaction again.
        with engine.begin() as conn:
            assert seen(conn) == ("read committed", True)
    finally:
        store.close()
