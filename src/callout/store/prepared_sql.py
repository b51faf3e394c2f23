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
would use. SQLAlchemy's part was two thirds of a result's statement time. A
statement taking a list (`IN :ids`, `execute_listing`) gets the list as one JSON
parameter there (`IN (SELECT value FROM json_each(:ids))`): SQLAlchemy's expanding
parameters rebuilt the statement on each call, 270-460 µs against about 115.
"""

from __future__ import annotations

import functools
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from callout.store.database import json_text
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


@functools.cache
def listing(template: str, now: str, names: str) -> sa.TextClause:
    """Return the prepared statement whose `names` parameter takes a list (`IN :names`)."""
    return prepared(template, now).bindparams(sa.bindparam(names, expanding=True))


def execute_listing(
    conn: sa.Connection, statement: sa.TextClause, names: str, parameters: Mapping[str, Any]
) -> sa.CursorResult[Any]:
    """Run a `listing` statement, `parameters[names]` a list; on SQLite through the driver.

    On SQLite the list goes as one JSON array that `json_each` reads back, so the
    statement's text is the same for every length. Result columns come back as the
    driver gives them: read typed ones (JSON) with `result_reader`.
    """
    if conn.dialect.name != "sqlite":
        return conn.execute(statement, parameters)
    text = _json_listing(statement.text, names)
    bound = {**parameters, names: json.dumps(list(parameters[names]))}
    return conn.exec_driver_sql(text, _encoded(bound, _json_encoders(statement, conn.dialect)))


@functools.cache
def _json_listing(text: str, names: str) -> str:
    json_each = f"IN (SELECT value FROM json_each(:{names}))"  # noqa: S608 - a parameter name
    listed = text.replace(f"IN :{names}", json_each)
    if listed == text:  # pragma: no cover - a statement of this module's callers' own
        raise ValueError(f"no `IN :{names}` in {text!r}")
    return listed


RowColumns = tuple[tuple[str, str], ...]
"""Columns of rows sent as one parameter (`given_rows`): each one's name and PostgreSQL type."""


def given_rows(alias: str, columns: RowColumns, *, place: bool = False) -> str:
    """PostgreSQL rows from one JSON parameter (`:<alias>`, `rows_parameter`), typed.

    For a write many callers make at once (`merged_writes.py`): one text for any
    number of rows, so the statement is prepared and planned once. The rows go as
    one JSON text, which PostgreSQL reads in C: psycopg's arrays quoted each item
    in Python, a regular expression per string (7% of a worker's time). A JSON
    column goes as its own text inside, read back as JSON (a JSON null stays one).
    `place` numbers the rows in order, from 1.
    """
    given = ", ".join(f"{name} {'TEXT' if kind == 'JSON' else kind}" for name, kind in columns)
    picked = ", ".join(
        f"CAST(given.{name} AS JSON) AS {name}" if kind == "JSON" else f"given.{name}"
        for name, kind in columns
    )
    if place:
        given, picked = given + ", place BIGINT", picked + ", given.place"
    return (
        f"(SELECT {picked} FROM json_to_recordset(CAST(:{alias} AS JSON)) "  # noqa: S608 - constant SQL
        f"AS given ({given})) AS {alias}"
    )


def rows_parameter(
    alias: str, rows: Sequence[Mapping[str, Any]], columns: RowColumns, *, place: bool = False
) -> dict[str, str]:
    """Return the parameter of `given_rows(alias, columns, place=place)` for `rows`.

    JSON goes as its text, written as every JSON column is (`json_text`).
    """
    listed = []
    for number, row in enumerate(rows, start=1):
        item = {
            name: json_text(row[name]) if kind == "JSON" else row[name] for name, kind in columns
        }
        if place:
            item["place"] = number
        listed.append(item)
    return {alias: json_text(listed)}


REPLAN_EVERY = 1.0
"""Seconds a connection keeps its plans of prepared statements (`planned_generically`)."""


def planned_generically(conn: sa.Connection) -> None:
    """Have PostgreSQL run the transaction's next statements on a generic plan, made recently.

    For a statement run many times whose plan should not hang on its parameters (the
    claim: its `LIMIT` is the worker's free slots). PostgreSQL would plan each call
    anew while it deems a plan for the call's own values cheaper than a generic one,
    about 0.5 ms of the server's time a claim; `plan_cache_mode` set for the
    transaction keeps it to one generic plan.

    That plan is made on the tables' sizes of its moment, and kept until an ANALYZE
    (autovacuum may be off): a plan made on a young database would scan its then small
    tables for ever after, where an index probe per row is right once they are large.
    So a connection's plans are dropped (`DISCARD PLANS`, which keeps psycopg's
    prepared statements) when they are a second old or more (`REPLAN_EVERY`).
    One round trip, in the simple protocol that runs the commands at once.

    The plan also never scans a table whole (`enable_seqscan = off`): a generic plan
    guesses one row where a claim leases many, and on a table of a few hundred rows
    it found a whole scan cheaper than the index, then ran it once per row claimed.
    Every table such a statement reads has the index it needs.
    """
    if conn.dialect.name != "postgresql":
        return
    info = conn.connection.info
    transaction = conn.get_transaction()
    if transaction is not None and info.get("generic_in") is transaction:
        return  # set already for this transaction (a claim and results in one batch)
    info["generic_in"] = transaction
    now = time.monotonic()
    generic = "SET LOCAL plan_cache_mode = force_generic_plan; SET LOCAL enable_seqscan = off"
    if now - info.get("planned_at", -math.inf) >= REPLAN_EVERY:
        conn.exec_driver_sql("DISCARD PLANS; " + generic)
        info["planned_at"] = now
    else:
        conn.exec_driver_sql(generic)


def result_reader(conn: sa.Connection, kind: sa.types.TypeEngine[Any]) -> Callable[[Any], Any]:
    """Return how a column of `kind` reads as SQLAlchemy would have read it on `conn`."""
    reader = kind.dialect_impl(conn.dialect).result_processor(conn.dialect, None)
    return reader if reader is not None else _as_is


def _as_is(value: Any) -> Any:
    return value


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
