"""Which driver errors mean the database is out of reach (`StoreUnavailable`), and which do not."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import psycopg
import psycopg.errors
import pytest
import sqlalchemy as sa

from callout.store.driver_errors import outages_translated, unavailable
from callout.store.protocol import StoreUnavailable


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_a_refused_postgresql_connection_is_unavailable() -> None:
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect(f"host=127.0.0.1 port={free_port()} connect_timeout=2")
    found = unavailable(refused.value)
    assert found is not None
    assert "Connection refused" in str(found)


@pytest.mark.parametrize(
    "error",
    [
        psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
        psycopg.errors.CannotConnectNow("the database system is starting up"),
        psycopg.errors.ReadOnlySqlTransaction("cannot execute UPDATE in a read-only transaction"),
        psycopg.errors.TooManyConnections("sorry, too many clients already"),
        psycopg.InterfaceError("the connection is closed"),
    ],
)
def test_postgresql_shutdowns_failovers_and_lost_connections_are_unavailable(
    error: psycopg.Error,
) -> None:
    wrapped = sa.exc.OperationalError("UPDATE step_runs ...", {}, error)
    assert isinstance(unavailable(wrapped), StoreUnavailable)


@pytest.mark.parametrize(
    "error",
    [
        psycopg.errors.UniqueViolation("duplicate key value"),
        psycopg.errors.QueryCanceled("canceling statement due to statement timeout"),
        psycopg.errors.SyntaxError("syntax error at or near"),
    ],
)
def test_other_postgresql_errors_pass_through(error: psycopg.Error) -> None:
    assert unavailable(sa.exc.DBAPIError("SELECT ...", {}, error)) is None


def test_a_connection_sqlalchemy_invalidated_is_unavailable() -> None:
    error = sa.exc.DBAPIError(
        "SELECT 1", {}, psycopg.DatabaseError("gone"), connection_invalidated=True
    )
    assert isinstance(unavailable(error), StoreUnavailable)


def test_sqlite_locked_past_the_busy_timeout_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None, timeout=0)
    waiter = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreUnavailable, match="database is locked"), outages_translated():
            waiter.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError, match="no such table"), outages_translated():
            waiter.execute("SELECT * FROM nowhere")
    finally:
        holder.close()
        waiter.close()
