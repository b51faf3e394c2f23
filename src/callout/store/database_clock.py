"""Whose clock the run records keep: the database's, never a worker's.

Due times, lease expiry and every time a run record carries are taken inside
the transaction that writes or compares them. On PostgreSQL that is the
server's `now()`: the start of the transaction, one instant for every stamp
that transaction writes (transactions are short: none stays open across
network I/O). On SQLite the database is a file on one host, so that host's
clock is the database's clock; the store reads it through a `Clock`.

A clock handed to the store (`keep_time_with`) stands in for the database's
on either database: it is the seam tests use to move the database's time,
not an operator setting. docs/durability.md ("Whose clock") says what this
means for workers.
"""

from __future__ import annotations

import sqlalchemy as sa

from callout.model.clock import Clock, SystemClock

CLOCK_OPTION = "callout_clock"
"""The engine execution option that carries a clock standing in for the database's."""

_POSTGRES_NOW: sa.ColumnElement[float] = sa.cast(
    sa.extract("epoch", sa.func.now()), sa.Float(precision=53)
)
_HOST_CLOCK = SystemClock()


def keep_time_with(engine: sa.Engine, clock: Clock | None) -> None:
    """Make `clock` the database's clock for `engine` (None: the database's own)."""
    engine.update_execution_options(**{CLOCK_OPTION: clock})


def database_now(conn: sa.Connection) -> sa.ColumnElement[float]:
    """Return the database's time now (unix seconds), as SQL for this transaction's statements.

    Read it once per transaction and use it for every stamp, so the times one
    transaction writes agree (an attempt's end and its retry's due time differ by
    exactly the delay).
    """
    clock: Clock | None = conn.get_execution_options().get(CLOCK_OPTION)
    if clock is None and conn.dialect.name == "postgresql":
        return _POSTGRES_NOW
    return sa.literal((clock or _HOST_CLOCK).now(), sa.Float(precision=53))


def database_now_value(conn: sa.Connection) -> float | None:
    """Return the database's time now as a number to bind, or None on PostgreSQL's own clock.

    For statements written as SQL text (`attempt_results.py`): None means "write
    PostgreSQL's `now()` in the statement"; a number is bound as `:now`.
    """
    clock: Clock | None = conn.get_execution_options().get(CLOCK_OPTION)
    if clock is None and conn.dialect.name == "postgresql":
        return None
    return (clock or _HOST_CLOCK).now()


def database_now_number(conn: sa.Connection) -> float:
    """Return the database's time for this transaction as a number (asked of PostgreSQL)."""
    value = database_now_value(conn)
    if value is not None:
        return value
    return float(conn.execute(sa.select(database_now(conn))).scalar_one())
