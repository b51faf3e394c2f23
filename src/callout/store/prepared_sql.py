"""SQL written once as text, for the statements every run or attempt executes.

Building a SQLAlchemy Core statement costs 100-300 us of Python (coercions,
cache keys), far more than SQLite takes to run it, and writes run while their
transaction holds SQLite's one write lock: that Python time is lock time every
other writer waits out. The hot statements (`attempt_results.py`,
`run_records.py`, `trigger_calls.py`) are built once per process with bound
parameters instead. The database's now is written `:now` in them: bound to
SQLite's host clock (or a clock standing in for the database's in tests), or
replaced by PostgreSQL's own `now()`, as everywhere else in the store
(`database_clock.py`).

On SQLite the hot statements also skip SQLAlchemy's execution of a compiled
statement (`execute`): each goes to the driver as it is written (sqlite3 takes
`:name` parameters), its JSON parameters encoded by the same processor the engine
would use. SQLAlchemy's part was two thirds of a result's statement time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from callout.store.database_clock import database_now_value

POSTGRES_NOW = "CAST(EXTRACT(EPOCH FROM now()) AS DOUBLE PRECISION)"

JSON_PARAMETERS = ("output", "error", "request", "response", "document", "trigger")
"""Parameters that carry JSON values: bound as JSON (serialized by the engine's codec)."""


@functools.cache
def prepared(template: str, now: str) -> sa.TextClause:
    """Return `template` as a statement, the database's now written as `now` (`:now` or SQL)."""
    text = template.replace(":now", now)
    used = [name for name in JSON_PARAMETERS if f":{name}" in text]
    return sa.text(text).bindparams(*(sa.bindparam(name, type_=sa.JSON) for name in used))


def now_parameters(conn: sa.Connection) -> tuple[str, dict[str, Any]]:
    """How statements on `conn` write now, and the `:now` parameter to bind if any."""
    now = database_now_value(conn)
    if now is None:
        return POSTGRES_NOW, {}
    return ":now", {"now": now}


def execute(
    conn: sa.Connection,
    statement: sa.TextClause,
    parameters: Mapping[str, Any] | Sequence[Mapping[str, Any]],
) -> sa.CursorResult[Any]:
    """Run a statement from `prepared`; on SQLite straight through the driver.

    A list of parameters runs it once per item. The same statement, the same
    parameters and the same encoding of JSON values either way; events and error
    translation are SQLAlchemy's as ever. Not for a statement with an expanding
    (`IN :names`) parameter.
    """
    if conn.dialect.name != "sqlite":
        return conn.execute(statement, parameters)
    encoders = _json_encoders(statement, conn.dialect)
    if isinstance(parameters, Mapping):
        return conn.exec_driver_sql(statement.text, _encoded(parameters, encoders))
    return conn.exec_driver_sql(statement.text, [_encoded(item, encoders) for item in parameters])


def _encoded(
    parameters: Mapping[str, Any], encoders: tuple[tuple[str, Callable[[Any], Any]], ...]
) -> Mapping[str, Any]:
    if not encoders:
        return parameters
    encoded = dict(parameters)
    for name, encode in encoders:
        if name in encoded:
            encoded[name] = encode(encoded[name])
    return encoded


_ENCODERS: dict[
    tuple[int, int], tuple[sa.TextClause, sa.Dialect, tuple[tuple[str, Callable[[Any], Any]], ...]]
] = {}


def _json_encoders(
    statement: sa.TextClause, dialect: sa.Dialect
) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    """Return the bind processors of a statement's typed (JSON) parameters on `dialect`."""
    key = (id(statement), id(dialect))
    known = _ENCODERS.get(key)
    if known is not None and known[0] is statement and known[1] is dialect:
        return known[2]
    encoders = []
    for name, parameter in statement._bindparams.items():  # noqa: SLF001 - the statement's own binds
        processor = parameter.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            encoders.append((name, processor))
    found = tuple(encoders)
    _ENCODERS[key] = (statement, dialect, found)
    return found
