"""Remove the bodies of finished runs in SQL, keeping their records (store/retention.py).

A body is blanked where it is kept, in the JSON of its record, and the record
says so: `body_removed: true` beside it. A request's or response's `body`
becomes `""` (it is text in the attempt log), an output's or error's `body`
becomes null, and the run's trigger payload NULL. Everything else of the
record stays (method, URL, headers, status, error type and message).

The JSON is rewritten by the database (SQLite's `json_set`, PostgreSQL's
`jsonb_set`): a body of a megabyte never becomes a Python object, and one
batch is a few statements whatever its size.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from callout.store.tables import runs

_SQLITE_VALUES = {"text": "''", "null": "json('null')"}
_POSTGRES_VALUES = {"text": "'\"\"'::jsonb", "null": "'null'::jsonb"}


def _blanked(column: str, keys: tuple[str, ...], value: str, *, postgres: bool) -> str:
    """Return SQL for `column` with its body at `keys` blanked and marked, if it has one."""
    marker = (*keys[:-1], "body_removed")
    if postgres:
        path, flag = "{" + ",".join(keys) + "}", "{" + ",".join(marker) + "}"
        return (
            f"CASE WHEN ({column} #> '{path}') IS NOT NULL THEN jsonb_set(jsonb_set("
            f"{column}::jsonb, '{path}', {_POSTGRES_VALUES[value]}), '{flag}', 'true'::jsonb)"
            f"::json ELSE {column} END"
        )
    path, flag = "$." + ".".join(keys), "$." + ".".join(marker)
    return (
        f"CASE WHEN json_type({column}, '{path}') IS NOT NULL THEN json_set({column}, "
        f"'{path}', {_SQLITE_VALUES[value]}, '{flag}', json('true')) ELSE {column} END"
    )


def _statements(*, postgres: bool) -> list[str]:
    def blank(column: str, *keys: str, value: str) -> str:
        return f"{column} = {_blanked(column, keys, value, postgres=postgres)}"

    # Only column names and JSON paths of this module go into the text; ids are bound.
    steps = "SELECT id FROM step_runs WHERE run_id IN :ids"
    attempts = ", ".join(
        (
            blank("request", "body", value="text"),
            blank("response", "body", value="text"),
            blank("error", "body", value="null"),
        )
    )
    outputs = ", ".join(
        (blank("output", "body", value="null"), blank("error", "body", value="null"))
    )
    # A step that errored and went on keeps its error (and its body) in its output too.
    continued = blank("output", "error", "body", value="null")
    return [
        f"UPDATE attempts SET {attempts} WHERE step_run_id IN ({steps})",  # noqa: S608
        f"UPDATE step_runs SET {outputs} WHERE run_id IN :ids",  # noqa: S608
        f"UPDATE step_runs SET {continued} WHERE run_id IN :ids",  # noqa: S608
    ]


_PREPARED = {
    postgres: [
        sa.text(statement).bindparams(sa.bindparam("ids", expanding=True))
        for statement in _statements(postgres=postgres)
    ]
    for postgres in (False, True)
}


def remove_bodies(conn: sa.Connection, run_ids: Sequence[str], *, now: float) -> None:
    """Blank the bodies of the runs `run_ids` (finished, checked by the caller), in `conn`."""
    if not run_ids:
        return
    ids = list(run_ids)
    for statement in _PREPARED[conn.dialect.name == "postgresql"]:
        conn.execute(statement, {"ids": ids})
    conn.execute(
        sa.update(runs).where(runs.c.id.in_(ids)).values(trigger=sa.null(), bodies_removed_at=now)
    )
