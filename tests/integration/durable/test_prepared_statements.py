"""A hot statement sent straight to SQLite's driver writes what SQLAlchemy would have written.

`prepared_sql.execute` skips SQLAlchemy's execution of compiled statements on SQLite
(docs/benchmarks.md). The values must not change by it: each JSON value is encoded
by the engine's own processor (None as JSON `null`, not SQL NULL), a list of
parameters runs once per item, a list parameter (`execute_listing`, through
`json_each`) selects the same rows, and SQLAlchemy still sees each statement (its
events) and translates the driver's errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from callout.store.database import database_url, open_engine
from callout.store.prepared_sql import execute, execute_listing, listing, prepared, result_reader

INSERT = "INSERT INTO results (id, output, error, at) VALUES (:id, :output, :error, :now)"
VALUES: list[dict[str, Any]] = [
    {"output": None, "error": None},
    {"output": {"name": "Zoë", "nested": [1, 2.5, True, None]}, "error": "text"},
    {"output": [], "error": {"type": "timeout", "message": "\u2028 and </script>"}},
]


@pytest.fixture
def engine(tmp_path: Path) -> sa.Engine:
    made = open_engine(database_url(str(tmp_path / "prepared.db")))
    with made.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE results (id TEXT PRIMARY KEY, output TEXT, error TEXT, at REAL)"
        )
    return made


def stored(engine: sa.Engine, prefix: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT output, error, at, typeof(output) FROM results WHERE id LIKE ? ORDER BY id",
            (f"{prefix}%",),
        )
        return [tuple(row) for row in rows]


def test_the_driver_path_stores_what_sqlalchemy_stores(engine: sa.Engine) -> None:
    statement = prepared(INSERT, ":now")
    seen: list[str] = []

    def noted(_conn: Any, _cursor: Any, text: str, *_: Any) -> None:
        if text.startswith("INSERT"):
            seen.append(text)

    sa.event.listen(engine, "before_cursor_execute", noted)
    with engine.begin() as conn:
        for number, values in enumerate(VALUES):
            conn.execute(statement, {"id": f"a{number}", "now": 1.5, **values})
            execute(conn, statement, {"id": f"b{number}", "now": 1.5, **values})
        execute(
            conn,
            statement,
            [{"id": f"c{number}", "now": 1.5, **values} for number, values in enumerate(VALUES)],
        )
    through_sqlalchemy = stored(engine, "a")
    assert through_sqlalchemy[0][:2] == ("null", "null")  # JSON null, not SQL NULL
    assert stored(engine, "b") == through_sqlalchemy
    assert stored(engine, "c") == through_sqlalchemy
    assert len(seen) == 2 * len(VALUES) + 1  # every statement is still seen (once per batch)


def test_a_driver_error_is_translated_as_before(engine: sa.Engine) -> None:
    statement = prepared(INSERT, ":now")
    with engine.begin() as conn:
        execute(conn, statement, {"id": "dup", "now": 1.0, "output": 1, "error": None})
        with pytest.raises(sa.exc.IntegrityError):
            execute(conn, statement, {"id": "dup", "now": 1.0, "output": 2, "error": None})


def test_a_list_parameter_reads_the_same_rows_through_json_each(engine: sa.Engine) -> None:
    statement = prepared(INSERT, ":now")
    with engine.begin() as conn:
        for number, values in enumerate(VALUES):
            execute(conn, statement, {"id": f"r{number}", "now": 2.0, **values})
    chosen = listing("SELECT id, output FROM results WHERE id IN :ids ORDER BY id", ":now", "ids")
    typed = chosen.columns(sa.column("id", sa.String), sa.column("output", sa.JSON))
    ids = ["r2", "r0", "missing", "r1"]
    with engine.connect() as conn:
        through_sqlalchemy = [tuple(row) for row in conn.execute(typed, {"ids": ids})]
        json_value = result_reader(conn, sa.JSON())
        through_driver = [
            (row.id, json_value(row.output))
            for row in execute_listing(conn, chosen, "ids", {"ids": ids})
        ]
        # A list of one, and of none, read as SQLAlchemy reads them.
        one = list(execute_listing(conn, chosen, "ids", {"ids": ["r1"]}))
        none = list(execute_listing(conn, chosen, "ids", {"ids": []}))
    assert through_driver == through_sqlalchemy
    assert through_sqlalchemy[0] == ("r0", None)  # JSON null reads back as None
    assert [row.id for row in one] == ["r1"]
    assert none == []
