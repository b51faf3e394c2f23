"""One moment of the database for a read of several statements (a run with its steps).

A run is read in three statements (the run, its step runs, their attempts).
Each statement alone sees the latest commit; a commit between two of them (a
claim, a deferral) would show a run `running` beside a step run `pending` that
never were at once. Inside `one_snapshot` every statement sees the same moment:
PostgreSQL's REPEATABLE READ, a read transaction on SQLite's readers (WAL keeps
its snapshot from the first read, and takes no write lock).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa


@contextmanager
def one_snapshot(conn: sa.Connection) -> Iterator[None]:
    """Make the reads on `conn` inside see one snapshot; call before its first statement."""
    if conn.in_transaction():  # already in one: its rules stand
        yield
        return
    if conn.dialect.name == "postgresql":
        conn.execution_options(isolation_level="REPEATABLE READ")
        yield
        return
    driver = conn.connection.dbapi_connection
    if driver is None or not _reader(driver):
        yield  # the writer begins its own transactions (BEGIN IMMEDIATE): not here
        return
    conn.exec_driver_sql("BEGIN")
    try:
        yield
    finally:
        conn.exec_driver_sql("ROLLBACK")  # it only read


def _reader(driver: Any) -> bool:
    """Whether a SQLite connection is one of the store's readers (read-only, no implicit BEGIN)."""
    if getattr(driver, "isolation_level", "") is not None or driver.in_transaction:
        return False
    return bool(driver.execute("PRAGMA query_only").fetchone()[0])
