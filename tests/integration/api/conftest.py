"""API tests: the app in-process over a fresh SQLite file and a fresh PostgreSQL database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from callout.http import AiohttpTransport
from callout.store import SqlStore
from support.api_clients import Service, api_service


@pytest.fixture
async def service(store: SqlStore, transport: AiohttpTransport) -> AsyncIterator[Service]:
    """The API over both databases, its transport allowed to reach loopback test servers."""
    async with api_service(store, transport) as built:
        yield built


@pytest.fixture
async def sqlite_service(
    sqlite_store: SqlStore, transport: AiohttpTransport
) -> AsyncIterator[Service]:
    """The API over SQLite only, for what does not depend on the database."""
    async with api_service(sqlite_store, transport) as built:
        yield built
