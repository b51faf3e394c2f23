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
"""

from __future__ import annotations

import functools
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
