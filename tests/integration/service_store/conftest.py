"""Service-store tests: on each database (`db_url`, `store` from tests/integration)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from callout.model.clock import ManualClock
from callout.store.database import database_url
from callout.store.encryption import SecretCipher
from callout.store.memory import MemoryStore
from callout.store.organizations import Organization
from callout.store.service import ServiceStore
from callout.store.sql_store import SqlStore, open_store
from integration.service_store.seeds import T0, new_org
from support.databases import POSTGRES_ENV, fresh_database, postgres_admin_url
from support.services import skip_or_fail


@pytest.fixture
async def store(timed_store: SqlStore, db_clock: ManualClock) -> SqlStore:
    """The store on each database, its clock (the database's) `db_clock`, standing at T0.

    Run records are stamped by the store's clock, so tests set it to the time they mean.
    """
    assert db_clock.now() == T0
    return timed_store


@pytest.fixture
def cipher() -> SecretCipher:
    return SecretCipher(secrets.token_bytes(32))


@pytest.fixture
async def org_a(store: SqlStore) -> Organization:
    return await new_org(store, "Acme", now=T0)


@pytest.fixture
async def org_b(store: SqlStore) -> Organization:
    return await new_org(store, "Bravo", now=T0 + 0.5)


@pytest.fixture(params=["sqlite", "postgresql", "memory"])
async def service_store(
    request: pytest.FixtureRequest, tmp_path: Path, db_clock: ManualClock
) -> AsyncIterator[ServiceStore]:
    """The service store on SQLite, on PostgreSQL and in memory, its clock `db_clock` at T0.

    The service-record contract tests run on all three, so the in-memory store cannot drift.
    """
    assert db_clock.now() == T0
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


@pytest.fixture
async def acme(service_store: ServiceStore) -> Organization:
    """An organization in `service_store` (on each database and in memory)."""
    return await new_org(service_store, "Acme", now=T0)


@pytest.fixture
async def bravo(service_store: ServiceStore) -> Organization:
    """Another organization in `service_store`."""
    return await new_org(service_store, "Bravo", now=T0 + 0.5)
