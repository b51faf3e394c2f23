"""API tests: the app in-process over a fresh SQLite file and a fresh PostgreSQL database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from callout.http import AiohttpTransport
from callout.store.sql_store import SqlStore
from support.api_clients import Org, Service, api_service
from support.in_process_servers import serving


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


@pytest.fixture
async def served_acme(sqlite_service: Service) -> AsyncIterator[tuple[str, Org]]:
    """The API on a loopback socket of this loop (its base URL), and an org whose client uses it.

    For loop-lag tests: the probe reaches the API through that socket while the org's
    requests run on the same loop.
    """
    async with serving(sqlite_service.app) as base:
        org = await sqlite_service.org()
        async with httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {org.key}"}, timeout=60
        ) as client:
            yield base, Org(id=org.id, key=org.key, client=client)
