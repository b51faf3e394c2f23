"""A database error never shows its parameters: they hold request and response bodies."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from callout.store.sql_store import SqlStore
from callout.store.tables import workers


async def test_a_failed_statement_does_not_show_the_values_it_was_given(store: SqlStore) -> None:
    marker = "body-with-a-secret-inside"

    def insert_twice(conn: sa.Connection) -> None:
        row = {"id": "wrk_1", "host": marker, "pid": 1, "started_at": 0.0, "last_seen_at": 0.0}
        conn.execute(workers.insert().values(**row))
        conn.execute(workers.insert().values(**row))

    with pytest.raises(sa.exc.IntegrityError) as raised:
        await store.write(insert_twice)
    assert "hidden due to hide_parameters" in str(raised.value)
    assert marker not in str(raised.value)
