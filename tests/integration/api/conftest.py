"""API tests: the app in-process over a fresh SQLite file and a fresh PostgreSQL database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from callout.http import AiohttpTransport
from callout.store import SqlStore, database_url, open_store
from support.api_clients import Service, api_service
from support.databases import POSTGRES_ENV, fresh_database, postgres_admin_url
from support.services import skip_or_fail


@pytest.fixture(params=["sqlite", "postgresql"])
async def api_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database of each kind: store-touching API tests run on both."""
    if request.param == "postgresql" and postgres_admin_url() is None:
        skip_or_fail(f"{POSTGRES_ENV} is not set")
    async with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
async def api_store(api_db_url: str) -> AsyncIterator[SqlStore]:
    store = await open_store(database_url(api_db_url))
    yield store
    await store.close()


@pytest.fixture
async def service(api_store: SqlStore, transport: AiohttpTransport) -> AsyncIterator[Service]:
    """The API over both databases, its transport allowed to reach loopback test servers."""
    async with api_service(api_store, transport) as built:
        yield built


@pytest.fixture
async def sqlite_service(
    sqlite_store: SqlStore, transport: AiohttpTransport
) -> AsyncIterator[Service]:
    """The API over SQLite only, for what does not depend on the database."""
    async with api_service(sqlite_store, transport) as built:
        yield built
