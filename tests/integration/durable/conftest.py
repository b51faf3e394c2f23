"""Every durable test runs on a fresh SQLite file and on a fresh PostgreSQL database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from callout.store import SqlStore, database_url, open_store
from support.databases import POSTGRES_ENV, fresh_database, postgres_admin_url
from support.services import skip_or_fail


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    kind = request.param
    if kind == "postgresql" and postgres_admin_url() is None:
        skip_or_fail(f"{POSTGRES_ENV} is not set")
    async with fresh_database(kind, tmp_path) as url:
        yield url


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[SqlStore]:
    real = await open_store(database_url(db_url))
    yield real
    await real.close()


@pytest.fixture
async def pg_url(tmp_path: Path) -> AsyncIterator[str]:
    """A fresh PostgreSQL database, for what only PostgreSQL does."""
    if postgres_admin_url() is None:
        skip_or_fail(f"{POSTGRES_ENV} is not set")
    async with fresh_database("postgresql", tmp_path) as url:
        yield url


@pytest.fixture
async def pg_store(pg_url: str) -> AsyncIterator[SqlStore]:
    """A store on a fresh PostgreSQL database."""
    real = await open_store(database_url(pg_url))
    yield real
    await real.close()
