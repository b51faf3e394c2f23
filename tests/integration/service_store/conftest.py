"""Service-store tests: on each database (`db_url`, `store` from tests/integration)."""

from __future__ import annotations

import secrets

import pytest

from callout.model.clock import ManualClock
from callout.store import SqlStore
from callout.store.encryption import SecretCipher
from callout.store.organizations import Organization
from integration.service_store.seeds import T0, new_org


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
