"""Which database errors mean "the database cannot be reached now": they become `StoreUnavailable`.

A restart, a failover, a dropped connection or a SQLite file locked past the
busy timeout is not a fault of the operation asked for: the same operation
succeeds later. The store translates those errors here, where the SQL is run,
so the engine and the API never see a driver's exceptions (and never mistake an
outage for a bug). Every other database error passes through unchanged.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator

import psycopg
import sqlalchemy as sa

from callout.store.protocol import StoreUnavailable

POSTGRES_UNAVAILABLE_CLASSES = ("08", "53", "58")
"""SQLSTATE classes of an unreachable server: connection exception, insufficient
resources (disk full, too many connections), system error (I/O)."""

POSTGRES_UNAVAILABLE_STATES = frozenset(
    {
        "57P01",  # admin_shutdown: `pg_ctl stop -m fast` ended our session
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now: the server is starting up or shutting down
        "25006",  # read_only_sql_transaction: a failover left us on a standby
    }
)

SQLITE_UNAVAILABLE_CODES = frozenset(
    {
        5,  # SQLITE_BUSY: "database is locked" past the busy timeout
        6,  # SQLITE_LOCKED
        10,  # SQLITE_IOERR: "disk I/O error"
        13,  # SQLITE_FULL: the disk is full
        14,  # SQLITE_CANTOPEN: the file went away or cannot be opened
        15,  # SQLITE_PROTOCOL: a WAL lock race that outlived its retries
    }
)
"""Primary result codes (the low byte of an extended code) of a file that cannot be used now."""

_REASON_CHARS = 200


def _driver_says_unavailable(error: BaseException) -> bool:
    if isinstance(error, psycopg.Error):
        if isinstance(error, psycopg.InterfaceError):
            return True
        state = error.sqlstate
        if state is None:
            # Raised by the client itself: refused, reset or closed connection.
            return isinstance(error, psycopg.OperationalError)
        return state in POSTGRES_UNAVAILABLE_STATES or state[:2] in POSTGRES_UNAVAILABLE_CLASSES
    if isinstance(error, sqlite3.OperationalError):
        code = getattr(error, "sqlite_errorcode", None)
        if code is None:  # pragma: no cover - every supported Python sets it
            message = str(error)
            return "database is locked" in message or "disk I/O error" in message
        return code & 0xFF in SQLITE_UNAVAILABLE_CODES
    return False


def _reason(error: BaseException) -> str:
    text = str(error.orig if isinstance(error, sa.exc.DBAPIError) else error)
    first = next((line.strip() for line in text.splitlines() if line.strip()), type(error).__name__)
    return first[:_REASON_CHARS]


def unavailable(error: BaseException) -> StoreUnavailable | None:
    """Return the `StoreUnavailable` that `error` stands for, or None for any other error."""
    if isinstance(error, sa.exc.DBAPIError):
        hit = (
            error.connection_invalidated
            or isinstance(error, sa.exc.InterfaceError)
            or (error.orig is not None and _driver_says_unavailable(error.orig))
        )
    else:
        hit = _driver_says_unavailable(error)
    if not hit:
        return None
    return StoreUnavailable(f"the database is unavailable: {_reason(error)}")


def translated(error: BaseException) -> BaseException:
    """Return `error`, or the `StoreUnavailable` it stands for (with `error` as its cause)."""
    found = unavailable(error)
    if found is None:
        return error
    found.__cause__ = error
    return found


@contextlib.contextmanager
def outages_translated() -> Iterator[None]:
    """Raise `StoreUnavailable` in place of a driver error meaning the database is out of reach."""
    try:
        yield
    except (sa.exc.DBAPIError, psycopg.Error, sqlite3.Error) as exc:
        found = unavailable(exc)
        if found is None:
            raise
        raise found from exc
