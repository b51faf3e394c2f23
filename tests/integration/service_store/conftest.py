"""Service-store tests: on each database (`db_url`, `store` from tests/integration)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from callout.model.clock import ManualClock
from callout.store.encryption import SecretCipher
from callout.store.organizations import Organization
from callout.store.service import ServiceStore
from callout.store.sql_store import SqlStore
from integration.service_store.seeds import T0, new_org
from support.databases import store_of_kind


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
    async with store_of_kind(request.param, tmp_path, db_clock) as store:
        yield store


@pytest.fixture
async def acme(service_store: ServiceStore) -> Organization:
    """An organization in `service_store` (on each database and in memory)."""
    return await new_org(service_store, "Acme", now=T0)


@pytest.fixture
async def bravo(service_store: ServiceStore) -> Organization:
    """Another organization in `service_store`."""
    return await new_org(service_store, "Bravo", now=T0 + 0.5)
