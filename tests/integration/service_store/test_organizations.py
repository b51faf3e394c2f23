"""Organizations and their API keys: a key is shown once and only its SHA-256 is kept.

The contract runs on SQLite, PostgreSQL and in memory (`service_store`); what
is in the table's rows is checked on the SQL stores (`store`).
"""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

from callout.model.plans import Plan
from callout.store.account_changes import AccountChange
from callout.store.account_keys import KEY_PREFIX
from callout.store.account_records import AccountRecords, NewApiKey, Organization
from callout.store.protocol import NotFoundError
from callout.store.service import ServiceStore
from callout.store.sql_store import SqlStore
from callout.store.tables import api_keys
from integration.service_store.seeds import T0


async def open_org(
    accounts: AccountRecords, name: str = "Acme", now: float = T0
) -> tuple[Organization, NewApiKey]:
    return await accounts.create_organization(name=name, plan=Plan.STARTUP, now=now)


def key_rows(conn: sa.Connection) -> list[sa.Row[tuple[object, ...]]]:
    return list(conn.execute(sa.select(api_keys)).all())


class Changes:
    """A watcher that notes every change it is told of."""

    def __init__(self) -> None:
        self.seen: list[AccountChange] = []

    def account_changed(self, change: AccountChange) -> None:
        self.seen.append(change)


async def test_a_new_organization_comes_with_its_first_key(service_store: ServiceStore) -> None:
    accounts = service_store.accounts
    org, first = await open_org(accounts)
    assert org.id.startswith("org_")
    assert (org.name, org.plan, org.created_at) == ("Acme", Plan.STARTUP, T0)
    assert first.key.startswith(KEY_PREFIX)
    assert KEY_PREFIX == "callout_"
    assert len(first.key) > len(KEY_PREFIX) + 40  # 256 random bits
    info = first.info
    assert info.id.startswith("key_")
    assert (info.org_id, info.name, info.created_at) == (org.id, "first key", T0)
    assert info.prefix == first.key[: len(KEY_PREFIX) + 4]
    assert (info.last_used_at, info.revoked_at) == (None, None)
    assert first.key not in repr(first)
    assert await accounts.get_organization(org_id=org.id) == org
    assert await accounts.list_api_keys(org_id=org.id) == [info]


async def test_only_the_sha256_of_a_key_is_stored(store: SqlStore) -> None:
    _org, first = await open_org(store.accounts)
    [row] = await store.read(key_rows)
    assert row.key_hash == hashlib.sha256(first.key.encode()).hexdigest()
    for cell in row:
        assert first.key not in str(cell)
    assert row.prefix == first.info.prefix


async def test_a_key_signs_in_as_its_organization(service_store: ServiceStore) -> None:
    accounts = service_store.accounts
    org, first = await open_org(accounts)
    caller = await accounts.caller_for_key(key=first.key)
    assert caller is not None
    assert (caller.org, caller.key_id, caller.last_used_at) == (org, first.info.id, None)


async def test_an_unknown_key_signs_in_as_nobody(service_store: ServiceStore) -> None:
    accounts = service_store.accounts
    _org, first = await open_org(accounts)
    altered = first.key[:-1] + ("A" if first.key[-1] != "A" else "B")
    assert await accounts.caller_for_key(key=altered) is None
    assert await accounts.caller_for_key(key=first.key.upper()) is None
    assert await accounts.caller_for_key(key=first.info.prefix) is None
    assert await accounts.caller_for_key(key="") is None


async def test_a_revoked_key_signs_in_as_nobody_and_others_still_do(
    service_store: ServiceStore,
) -> None:
    accounts = service_store.accounts
    org, first = await open_org(accounts)
    second = await accounts.create_api_key(org_id=org.id, name="deploy", now=T0 + 1)
    revoked = await accounts.revoke_api_key(key_id=first.info.id, now=T0 + 2)
    assert revoked.revoked_at == T0 + 2
    assert await accounts.caller_for_key(key=first.key) is None
    caller = await accounts.caller_for_key(key=second.key)
    assert caller is not None
    assert caller.key_id == second.info.id
    again = await accounts.revoke_api_key(key_id=first.info.id, now=T0 + 3, org_id=org.id)
    assert again.revoked_at == T0 + 2  # idempotent: the first revocation stands
    listed = await accounts.list_api_keys(org_id=org.id)
    assert [(key.id, key.name, key.revoked_at) for key in listed] == [
        (first.info.id, "first key", T0 + 2),
        (second.info.id, "deploy", None),
    ]


async def test_a_key_of_another_organization_cannot_be_revoked(
    service_store: ServiceStore,
) -> None:
    accounts = service_store.accounts
    _acme, acme_key = await open_org(accounts, "Acme", T0)
    bravo, bravo_key = await open_org(accounts, "Bravo", T0 + 1)
    with pytest.raises(NotFoundError, match=f"no API key {acme_key.info.id}"):
        await accounts.revoke_api_key(key_id=acme_key.info.id, now=T0 + 2, org_id=bravo.id)
    caller = await accounts.caller_for_key(key=acme_key.key)
    assert caller is not None
    assert caller.key_id == acme_key.info.id
    with pytest.raises(NotFoundError):
        await accounts.revoke_api_key(key_id="key_unknown", now=T0 + 2)
    assert await accounts.list_api_keys(org_id=bravo.id) == [bravo_key.info]


async def test_a_plan_change_shows_wherever_the_organization_does(
    service_store: ServiceStore,
) -> None:
    accounts = service_store.accounts
    org, first = await open_org(accounts)
    moved = await accounts.set_plan(org_id=org.id, plan=Plan.ENTERPRISE, now=T0 + 5)
    assert (moved.id, moved.plan, moved.created_at) == (org.id, Plan.ENTERPRISE, T0)
    assert (await accounts.get_organization(org_id=org.id)).plan is Plan.ENTERPRISE
    caller = await accounts.caller_for_key(key=first.key)
    assert caller is not None
    assert caller.org.plan is Plan.ENTERPRISE
    with pytest.raises(NotFoundError, match="no organization org_unknown"):
        await accounts.set_plan(org_id="org_unknown", plan=Plan.GROWTH, now=T0 + 5)


async def test_watchers_are_told_of_revocations_and_plan_changes(
    service_store: ServiceStore,
) -> None:
    accounts = service_store.accounts
    changes = Changes()
    accounts.watch(changes)
    org, first = await open_org(accounts)
    await accounts.create_api_key(org_id=org.id, name="deploy", now=T0 + 1)
    await accounts.mark_key_used(key_id=first.info.id, now=T0 + 1)
    assert changes.seen == []  # nothing that changes who a key signs in as
    await accounts.set_plan(org_id=org.id, plan=Plan.ENTERPRISE, now=T0 + 2)
    await accounts.revoke_api_key(key_id=first.info.id, now=T0 + 3)
    assert changes.seen == [
        AccountChange(org_id=org.id),
        AccountChange(org_id=org.id, key_id=first.info.id),
    ]
    with pytest.raises(NotFoundError):
        await accounts.set_plan(org_id="org_unknown", plan=Plan.GROWTH, now=T0 + 4)
    assert len(changes.seen) == 2  # a change that did not happen is not told


async def test_a_used_key_shows_when_it_was_last_used(service_store: ServiceStore) -> None:
    accounts = service_store.accounts
    org, first = await open_org(accounts)
    await accounts.mark_key_used(key_id=first.info.id, now=T0 + 60)
    caller = await accounts.caller_for_key(key=first.key)
    assert caller is not None
    assert caller.last_used_at == T0 + 60
    [info] = await accounts.list_api_keys(org_id=org.id)
    assert info.last_used_at == T0 + 60


async def test_organizations_are_listed_oldest_first(service_store: ServiceStore) -> None:
    accounts = service_store.accounts
    bravo, _ = await open_org(accounts, "Bravo", T0 + 10)
    acme, _ = await open_org(accounts, "Acme", T0)
    assert await accounts.list_organizations() == [acme, bravo]
    with pytest.raises(NotFoundError):
        await accounts.get_organization(org_id="org_unknown")
    with pytest.raises(NotFoundError):
        await accounts.create_api_key(org_id="org_unknown", name="x", now=T0)
    assert await accounts.list_api_keys(org_id="org_unknown") == []
