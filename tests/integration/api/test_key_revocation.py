"""The API-key cache on real databases: two API processes share one database, each its cache.

A key revoked (or a plan changed) through one API is refused (shown) by that
API at once and by the other within `KEY_CACHE_SECONDS`; each API's clock is a
manual one, so "within a second" is proved without waiting.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import httpx

from callout.api import ApiContext, create_app
from callout.api.key_cache import KEY_CACHE_SECONDS
from callout.http import AiohttpTransport
from callout.model.clock import ManualClock
from callout.model.plans import Plan
from callout.store.database import database_url
from callout.store.sql_store import SqlStore, open_store
from support.api_clients import TEST_KEY

T0 = 1_800_000_000.0


@dataclass
class ApiProcess:
    """One API app over its own store (its own connections), as one `callout api` process."""

    store: SqlStore
    clock: ManualClock
    app_client: httpx.AsyncClient

    async def status(self, key: str, method: str = "GET", path: str = "/v1/organization") -> int:
        response = await self.app_client.request(
            method, path, headers={"Authorization": f"Bearer {key}"}
        )
        return response.status_code

    async def plan(self, key: str) -> str:
        response = await self.app_client.get(
            "/v1/organization", headers={"Authorization": f"Bearer {key}"}
        )
        assert response.status_code == 200, response.text
        plan: str = response.json()["plan"]
        return plan


@asynccontextmanager
async def api_process(db_url: str, transport: AiohttpTransport) -> AsyncIterator[ApiProcess]:
    clock = ManualClock(T0)
    store = await open_store(database_url(db_url))
    context = ApiContext(store=store, cipher=TEST_KEY, transport=transport, clock=clock)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(context)), base_url="http://callout.test"
        ) as client:
            yield ApiProcess(store, clock, client)
    finally:
        await store.close()


@asynccontextmanager
async def two_apis(
    db_url: str, transport: AiohttpTransport
) -> AsyncIterator[tuple[ApiProcess, ApiProcess]]:
    async with AsyncExitStack() as stack:
        here = await stack.enter_async_context(api_process(db_url, transport))
        there = await stack.enter_async_context(api_process(db_url, transport))
        yield here, there


async def test_a_revoked_key_is_refused_at_once_here_and_within_a_second_elsewhere(
    db_url: str, transport: AiohttpTransport
) -> None:
    async with two_apis(db_url, transport) as (here, there):
        org, first = await here.store.accounts.create_organization(
            name="Acme", plan=Plan.GROWTH, now=T0
        )
        spare = await here.store.accounts.create_api_key(org_id=org.id, name="spare", now=T0)
        assert await here.status(spare.key) == 200
        assert await there.status(spare.key) == 200

        revoked = await here.app_client.delete(
            f"/v1/api-keys/{spare.info.id}", headers={"Authorization": f"Bearer {first.key}"}
        )
        assert revoked.status_code == 200, revoked.text

        assert await here.status(spare.key) == 401
        # The other process still holds the answer it read before the revocation...
        there.clock.advance(KEY_CACHE_SECONDS * 0.9)
        assert await there.status(spare.key) == 200
        # ...and reads again once it is a second old.
        there.clock.advance(KEY_CACHE_SECONDS * 0.1)
        assert await there.status(spare.key) == 401
        assert await there.status(first.key) == 200


async def test_a_plan_change_shows_at_once_here_and_within_a_second_elsewhere(
    db_url: str, transport: AiohttpTransport
) -> None:
    async with two_apis(db_url, transport) as (here, there):
        org, first = await here.store.accounts.create_organization(
            name="Acme", plan=Plan.GROWTH, now=T0
        )
        assert await here.plan(first.key) == "growth"
        assert await there.plan(first.key) == "growth"

        await here.store.accounts.set_plan(org_id=org.id, plan=Plan.STARTUP, now=T0)

        assert await here.plan(first.key) == "startup"
        there.clock.advance(KEY_CACHE_SECONDS * 0.9)
        assert await there.plan(first.key) == "growth"
        there.clock.advance(KEY_CACHE_SECONDS * 0.1)
        assert await there.plan(first.key) == "startup"


async def test_a_key_revoked_with_the_cli_store_is_refused_within_a_second(
    db_url: str, transport: AiohttpTransport
) -> None:
    # `callout keys revoke` opens its own store: no API process is told.
    async with api_process(db_url, transport) as api:
        _org, first = await api.store.accounts.create_organization(
            name="Acme", plan=Plan.GROWTH, now=T0
        )
        assert await api.status(first.key) == 200
        operator = await open_store(database_url(db_url))
        try:
            await operator.accounts.revoke_api_key(key_id=first.info.id, now=T0)
        finally:
            await operator.close()
        api.clock.advance(KEY_CACHE_SECONDS)
        assert await api.status(first.key) == 401
