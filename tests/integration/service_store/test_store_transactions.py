"""`SqlStore.read` and `SqlStore.write`: a function run on a connection, in a transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from callout.model.plans import Plan
from callout.store.encryption import SecretCipher
from callout.store.organizations import (
    Organization,
    create_organization,
    get_organization,
    list_organizations,
)
from callout.store.protocol import ConflictError, LeaseLostError
from callout.store.secrets import SecretInfo, create_secret, secret_values
from callout.store.sql_store import SqlStore
from callout.store.sql_sync import SyncSqlStore
from callout.store.tables import organizations
from integration.service_store.seeds import T0


class Abandoned(Exception):
    """What a write raises after it wrote, to prove its writes are not kept."""


def create_then_fail(conn: sa.Connection, name: str, *, now: float) -> None:
    create_organization(conn, name=name, plan=Plan.STARTUP, now=now)
    raise Abandoned(name)


def create_then_collide(conn: sa.Connection, taken_id: str, *, now: float) -> None:
    """Write, then break a constraint: the database itself refuses the transaction's rest."""
    create_organization(conn, name="Collider", plan=Plan.STARTUP, now=now)
    conn.execute(
        organizations.insert().values(
            id=taken_id, name="Twin", plan=Plan.STARTUP.value, created_at=now, updated_at=now
        )
    )


async def test_a_write_returns_what_its_function_returns(store: SqlStore) -> None:
    org, key = await store.write(create_organization, name="Acme", plan=Plan.GROWTH, now=T0)
    assert (org.name, org.plan, key.info.org_id) == ("Acme", Plan.GROWTH, org.id)
    assert await store.read(get_organization, org_id=org.id) == org


async def test_a_write_that_raises_keeps_nothing_it_wrote(store: SqlStore) -> None:
    with pytest.raises(Abandoned, match="Ghost"):
        await store.write(create_then_fail, "Ghost", now=T0)
    assert await store.read(list_organizations) == []


async def test_concurrent_writes_each_keep_or_lose_only_their_own_changes(
    store: SqlStore, cipher: SecretCipher, org_a: Organization
) -> None:
    # Writes that arrive together may share one commit; each still stands or falls alone.
    def secret(name: str, value: str) -> Coroutine[Any, Any, object]:
        return store.write(create_secret, cipher, org_id=org_a.id, name=name, value=value, now=T0)

    writes = [secret(f"key_{i}", f"v{i}") for i in range(12)]
    writes.insert(5, store.write(create_then_fail, "Ghost", now=T0))
    writes.insert(9, secret("key_3", "dup"))
    writes.insert(11, store.write(create_then_collide, org_a.id, now=T0))
    outcomes = await asyncio.gather(*writes, return_exceptions=True)
    assert isinstance(outcomes[5], Abandoned)
    assert isinstance(outcomes[9], ConflictError)
    assert isinstance(outcomes[11], IntegrityError)
    kept = [outcome for i, outcome in enumerate(outcomes) if i not in {5, 9, 11}]
    assert [info.name for info in kept if isinstance(info, SecretInfo)] == [
        f"key_{i}" for i in range(12)
    ]
    values = await store.read(secret_values, cipher, org_id=org_a.id, now=T0)
    assert values.current == {f"key_{i}": f"v{i}" for i in range(12)}
    assert [org.name for org in await store.read(list_organizations)] == ["Acme"]


async def test_a_whole_write_that_fails_fails_its_whole_commit_and_keeps_nothing(
    store: SqlStore,
) -> None:
    # A write without a savepoint (`write_whole`) cannot be undone alone: the group
    # commit it shares is rolled back, and every caller in it is told.
    sql = SyncSqlStore(store.engine)

    def beside(conn: sa.Connection) -> None:
        create_organization(conn, name="Beside", plan=Plan.STARTUP, now=T0)

    def whole(conn: sa.Connection) -> None:
        create_then_fail(conn, "Ghost", now=T0)

    with pytest.raises(Abandoned):
        await asyncio.to_thread(sql.write_batch, [(beside, True), (whole, False)], synced=False)
    assert await store.read(list_organizations) == []
    # One refused before it wrote (a lease taken over) fails alone.
    with_refusal: list[tuple[Callable[[sa.Connection], Any], bool]] = [
        (beside, True),
        (refused, False),
    ]
    outcomes = await asyncio.to_thread(sql.write_batch, with_refusal, synced=False)
    assert [ok for ok, _ in outcomes] == [True, False]
    assert isinstance(outcomes[1][1], LeaseLostError)
    assert [org.name for org in await store.read(list_organizations)] == ["Beside"]
    # Through the store: the caller is told, and the store carries on.
    with pytest.raises(Abandoned):
        await store.write_whole(create_then_fail, "Ghost", now=T0)
    await store.write_whole(create_organization, name="After", plan=Plan.STARTUP, now=T0)
    assert sorted(org.name for org in await store.read(list_organizations)) == ["After", "Beside"]


def refused(conn: sa.Connection) -> None:
    raise LeaseLostError("the lease was taken over")
