"""The statements a store's engine executes, collected while a block runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from callout.store.sql_store import SqlStore

WRITES = ("UPDATE", "INSERT", "DELETE", "WITH", "SELECT")
"""What a statement count counts: data statements, not BEGIN, COMMIT or savepoints."""


@contextmanager
def statements_of(store: SqlStore) -> Iterator[list[str]]:
    """Collect the data statements (`WRITES`) the store's engine executes meanwhile."""
    seen: list[str] = []

    def noted(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith(WRITES):
            seen.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", noted)
    try:
        yield seen
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", noted)
