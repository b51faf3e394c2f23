"""Many finished runs written straight into the tables: a fixture for pruning, not the product path.

A run made through the API costs a trigger call; pruning tests need tens of
thousands of old runs in seconds, so they are inserted in SQL, each with one
step run and one attempt holding a request and a response with bodies, as a
worker would have recorded them.
"""

from __future__ import annotations

import itertools

import sqlalchemy as sa

from callout.store.tables import attempts, runs, step_runs

CHUNK = 5_000
_serial = itertools.count()


def _body(size: int) -> str:
    return "x" * size


def fill_runs(
    engine: sa.Engine,
    *,
    count: int,
    created_at: float,
    org_id: str | None,
    status: str = "completed",
    body_bytes: int = 200,
) -> list[str]:
    """Insert `count` runs created at `created_at` (one step run, one attempt each); their ids."""
    ids: list[str] = []
    body = _body(body_bytes)
    with engine.begin() as conn:
        for start in range(0, count, CHUNK):
            size = min(CHUNK, count - start)
            serials = [next(_serial) for _ in range(size)]
            run_rows = [
                {
                    "id": f"wfr_FILL{serial:012d}",
                    "workflow_name": "filled",
                    "document": {"name": "filled"},
                    "trigger": {"id": serial, "note": body},
                    "status": status,
                    "created_at": created_at,
                    "updated_at": created_at,
                    "finished_at": created_at if status != "pending" else None,
                    "org_id": org_id,
                }
                for serial in serials
            ]
            step_rows = [
                {
                    "id": f"stp_FILL{serial:012d}",
                    "run_id": f"wfr_FILL{serial:012d}",
                    "position": 0,
                    "step_id": "call",
                    "status": "succeeded" if status != "pending" else "pending",
                    "due_at": None if status != "pending" else created_at,
                    "output": {"status": 201, "headers": {}, "body": {"echo": body}},
                    "created_at": created_at,
                    "updated_at": created_at,
                }
                for serial in serials
            ]
            attempt_rows = [
                {
                    "id": f"att_FILL{serial:012d}",
                    "step_run_id": f"stp_FILL{serial:012d}",
                    "number": 1,
                    "status": "succeeded",
                    "started_at": created_at,
                    "ended_at": created_at,
                    "http_status": 201,
                    "request": {
                        "method": "POST",
                        "url": "https://api.example.com/users",
                        "headers": [],
                        "body": body,
                    },
                    "response": {
                        "status": 201,
                        "headers": [],
                        "body": body,
                        "body_truncated": False,
                    },
                }
                for serial in serials
                if status != "pending"
            ]
            conn.execute(runs.insert(), run_rows)
            conn.execute(step_runs.insert(), step_rows)
            if attempt_rows:
                conn.execute(attempts.insert(), attempt_rows)
            ids += [f"wfr_FILL{serial:012d}" for serial in serials]
    return ids


def count_runs(engine: sa.Engine) -> int:
    """Return how many runs the database holds."""
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(runs)).scalar_one())
