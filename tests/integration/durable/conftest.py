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
from support.databases import store_of_kind


@pytest.fixture(params=["sqlite", "postgresql", "memory"])
async def contract_store(
    request: pytest.FixtureRequest, tmp_path: Path, db_clock: ManualClock
) -> AsyncIterator[Store]:
    """The run-queue store on SQLite, on PostgreSQL and in memory; `db_clock` is its clock."""
    async with store_of_kind(request.param, tmp_path, db_clock) as store:
        yield store
