"""Many runs written at once by SQL on PostgreSQL: tables as large as a busy database's."""

from __future__ import annotations

import sqlalchemy as sa

_SEED = (
    (
        "INSERT INTO runs (id, workflow_name, document, status, created_at, updated_at) "
        "SELECT :tag || 'r' || g, 'w', '{}'::json, :status, 0, 0 FROM generate_series(1, :n) g"
    ),
    (
        "INSERT INTO step_runs (id, run_id, position, step_id, status, due_at, created_at, "
        "updated_at) SELECT :tag || 's' || g, :tag || 'r' || g, 0, 'a', :status, :due, 0, 0 "
        "FROM generate_series(1, :n) g"
    ),
    (
        "INSERT INTO attempts (id, step_run_id, number, status, started_at) "
        "SELECT :tag || 'a' || g, :tag || 's' || g, 1, 'succeeded', 0 "
        "FROM generate_series(1, :n) g WHERE :status = 'succeeded'"
    ),
)


def seed_runs(engine: sa.Engine, tag: str, count: int, *, due: bool) -> None:
    """Write `count` one-step runs: due now and pending, or succeeded with one attempt.

    Ids are `tag` + `r`/`s`/`a` + a number (step run `<tag>s1` ...). The tables are
    read once after, so no later statement pays for setting the new rows' hint bits.
    """
    status = "pending" if due else "succeeded"
    with engine.begin() as conn:
        for statement in _SEED:
            conn.execute(
                sa.text(statement),
                {"tag": tag, "n": count, "status": status, "due": 0.0 if due else None},
            )
    with engine.begin() as conn:
        for table in ("runs", "step_runs", "attempts"):
            conn.exec_driver_sql(f"SELECT count(*) FROM {table}")  # noqa: S608 - constant names
