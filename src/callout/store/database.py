"""Open the database named by `CALLOUT_DATABASE_URL`: a SQLite file by default, or PostgreSQL.

SQLite runs in WAL mode with one connection that every write goes through,
each write inside `BEGIN IMMEDIATE` (so two writers never both think they
won); `synchronous=FULL`, so a run is on disk before `callout` says it was
recorded. PostgreSQL is reached through psycopg 3. Every engine hides
statement parameters from its errors: they hold request and response bodies,
and a database error may be logged.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

DEFAULT_DATABASE = "./callout.db"

BUSY_TIMEOUT_ENV = "CALLOUT_SQLITE_BUSY_TIMEOUT"
DEFAULT_BUSY_TIMEOUT = 10.0
"""Seconds a SQLite statement waits for another process's lock before the store is unavailable."""


@dataclass(frozen=True, slots=True)
class DatabaseUrl:
    """A database location, in callout's words and in SQLAlchemy's."""

    given: str
    sqlalchemy_url: str
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT  # SQLite only

    @property
    def is_sqlite(self) -> bool:
        """Whether this is a SQLite file."""
        return self.sqlalchemy_url.startswith("sqlite")

    def __str__(self) -> str:
        # A PostgreSQL URL may carry a password: show it without.
        return sa.make_url(self.sqlalchemy_url).render_as_string(hide_password=True)


def database_url(value: str | None = None, environ: Mapping[str, str] = os.environ) -> DatabaseUrl:
    """Read a database URL (default `CALLOUT_DATABASE_URL`, else `./callout.db`).

    Raises ValueError for an unsupported URL or an invalid `CALLOUT_SQLITE_BUSY_TIMEOUT`.
    """
    given = value or environ.get("CALLOUT_DATABASE_URL") or DEFAULT_DATABASE
    if given.startswith(("postgresql://", "postgres://")):
        rest = given.split("://", 1)[1]
        return DatabaseUrl(given, f"postgresql+psycopg://{rest}")
    if given.startswith("postgresql+psycopg://"):
        return DatabaseUrl(given, given)
    if given.startswith("sqlite:///"):
        path = given.removeprefix("sqlite:///")
    elif "://" in given:
        raise ValueError(
            f"CALLOUT_DATABASE_URL: unsupported database {given.split('://', 1)[0]!r}; "
            "use a file path, sqlite:///path or postgresql://..."
        )
    else:
        path = given
    return DatabaseUrl(
        given, f"sqlite:///{Path(path).expanduser()}", busy_timeout=_busy_timeout(environ)
    )


def _busy_timeout(environ: Mapping[str, str]) -> float:
    text = environ.get(BUSY_TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_BUSY_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 3600:  # an hour: longer is a mistake, not a wish
        raise ValueError(f"{BUSY_TIMEOUT_ENV}: expected seconds from 0 to 3600, got {text!r}")
    return seconds


def _sqlite_pragmas(busy_ms: int, dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's BEGIN (below) start transactions, not the driver.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
    cursor.close()


def _sqlite_reader_pragmas(busy_ms: int, dbapi_connection: Any, _record: Any) -> None:
    # No BEGIN at all: each read is its own statement-level snapshot, and a reader
    # never takes the write lock.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only=1")
    cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
    cursor.close()


def _milliseconds(seconds: float) -> int:
    return round(seconds * 1000)


LOCK_POLL_FIRST, LOCK_POLL_CAP = 0.0002, 0.002
"""Seconds between tries for SQLite's write lock when another process holds it."""


def _sqlite_begin_immediate(busy_ms: int, connection: sa.Connection) -> None:
    """Take the write lock, polling every 0.2-2 ms while another process holds it.

    SQLite's own busy handler sleeps 1, 2, 5, 10 ... up to 100 ms between tries: two
    processes writing one file (`callout serve`'s API and its worker) would wait out
    those sleeps long after the lock was free. The busy timeout still bounds the wait.
    """
    raw = connection.connection.dbapi_connection
    if raw is None:  # pragma: no cover - a checked-out connection always has one
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        return
    deadline = time.monotonic() + busy_ms / 1000
    pause = LOCK_POLL_FIRST
    raw.execute("PRAGMA busy_timeout=0")
    try:
        while time.monotonic() < deadline:
            try:
                raw.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                    break  # told through the driver below, as SQLAlchemy words it
            else:
                return
            time.sleep(pause)
            pause = min(pause * 2, LOCK_POLL_CAP)
        # The last try goes through SQLAlchemy: its error is the one callers translate.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    finally:
        raw.execute(f"PRAGMA busy_timeout={busy_ms}")


def json_text(value: Any) -> str:
    """JSON columns' text: compact UTF-8, written by orjson (several times json's speed).

    What orjson refuses (a lone surrogate, an integer past 64 bits, nesting past 254
    levels: values the API no longer accepts, still found in older records) is
    written by the standard library, as before.
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"))


def _json_value(text: str | bytes) -> Any:
    """Read a JSON column: orjson, or the standard library for what orjson refuses."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


JSON_CODEC: dict[str, Any] = {"json_serializer": json_text, "json_deserializer": _json_value}
"""How every engine reads and writes JSON columns."""


def open_engine(url: DatabaseUrl) -> sa.Engine:
    """Create the engine for `url` with callout's settings."""
    if url.is_sqlite:
        # One writer connection, used by one thread. The driver runs in autocommit
        # mode (transactions are our BEGIN IMMEDIATE), so a connection given back
        # needs no ROLLBACK.
        engine = sa.create_engine(
            url.sqlalchemy_url,
            pool_size=1,
            max_overflow=0,
            pool_reset_on_return=None,
            hide_parameters=True,
            **JSON_CODEC,
        )
        sa.event.listen(
            engine, "connect", functools.partial(_sqlite_pragmas, _milliseconds(url.busy_timeout))
        )
        sa.event.listen(
            engine,
            "begin",
            functools.partial(_sqlite_begin_immediate, _milliseconds(url.busy_timeout)),
        )
        return engine
    return sa.create_engine(
        url.sqlalchemy_url,
        pool_size=10,
        max_overflow=10,
        pool_use_lifo=True,  # the warm connections, their statements prepared and planned
        pool_pre_ping=True,
        hide_parameters=True,
        **JSON_CODEC,
    )


def open_reader_engine(url: DatabaseUrl) -> sa.Engine | None:
    """For SQLite, an engine of read-only connections beside the one writer; else None.

    Reads then neither queue behind writes nor take SQLite's write lock.
    """
    if not url.is_sqlite:
        return None
    # Four reader threads and the health probe's (`SqlStore.ping`).
    engine = sa.create_engine(
        url.sqlalchemy_url,
        pool_size=5,
        max_overflow=0,
        pool_reset_on_return=None,
        hide_parameters=True,
        **JSON_CODEC,
    )
    sa.event.listen(
        engine,
        "connect",
        functools.partial(_sqlite_reader_pragmas, _milliseconds(url.busy_timeout)),
    )
    return engine
