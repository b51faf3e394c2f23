"""Every durable test runs on a fresh SQLite file and on a fresh PostgreSQL database.

The fixtures (`db_url`, `store`, `timed_store`, `db_clock`, `pg_url`, `pg_store`) are
shared by all integration tests: `tests/integration/conftest.py`. The store contract
tests also run on the in-memory store (`contract_store`), so the fake cannot drift.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from callout.model.clock import ManualClock
from callout.store import Store
from callout.store.database import database_url
from callout.store.memory import MemoryStore
from callout.store.sql_store import open_store
from support.databases import POSTGRES_ENV, fresh_database, postgres_admin_url
from support.services import skip_or_fail


@pytest.fixture(params=["sqlite", "postgresql", "memory"])
async def contract_store(
    request: pytest.FixtureRequest, tmp_path: Path, db_clock: ManualClock
) -> AsyncIterator[Store]:
    """The run-queue store on SQLite, on PostgreSQL and in memory; `db_clock` is its clock."""
    kind = request.param
    if kind == "memory":
        yield MemoryStore(clock=db_clock)
        return
    if kind == "postgresql" and postgres_admin_url() is None:
        skip_or_fail(f"{POSTGRES_ENV} is not set")
    async with fresh_database(kind, tmp_path) as url:
        real = await open_store(database_url(url), clock=db_clock)
        try:
            yield real
        finally:
            await real.close()
