"""An organization's secrets: created, listed by name, rotated with a grace, deleted.

On SQLite, PostgreSQL and in memory (`service_store`): values are encrypted in each.
"""

from __future__ import annotations

import dataclasses
import secrets as random_bytes

import pytest

from callout.store.account_records import (
    Organization,
    SecretInfo,
    SecretValues,
    StoredOrgSecrets,
)
from callout.store.encryption import SecretCipher, SecretKeyError
from callout.store.protocol import ConflictError, NotFoundError
from callout.store.service import ServiceStore
from integration.service_store.seeds import T0, new_org

GRACE = 3600.0


@pytest.fixture
async def acme(service_store: ServiceStore) -> Organization:
    return await new_org(service_store, "Acme", now=T0)


@pytest.fixture
async def bravo(service_store: ServiceStore) -> Organization:
    return await new_org(service_store, "Bravo", now=T0 + 0.5)


async def add(
    store: ServiceStore, cipher: SecretCipher, org: Organization, name: str, value: str
) -> SecretInfo:
    return await store.accounts.create_secret(cipher, org_id=org.id, name=name, value=value, now=T0)


async def values_at(
    store: ServiceStore, cipher: SecretCipher, org: Organization, now: float
) -> SecretValues:
    return await store.accounts.secret_values(cipher, org_id=org.id, now=now)


async def test_a_created_secret_is_version_one_with_no_previous_value(
    service_store: ServiceStore, cipher: SecretCipher, acme: Organization
) -> None:
    created = await add(service_store, cipher, acme, "signing_key", "s3cret")
    assert created.id.startswith("sec_")
    assert (created.name, created.version) == ("signing_key", 1)
    assert (created.created_at, created.updated_at, created.previous_until) == (T0, T0, None)
    fetched = await service_store.accounts.get_secret(
        org_id=acme.id, name="signing_key", now=T0 + 1
    )
    assert fetched == created
    values = await values_at(service_store, cipher, acme, T0 + 1)
    assert (values.current, values.previous) == ({"signing_key": "s3cret"}, {})


async def test_a_taken_name_is_a_conflict_and_keeps_the_first_value(
    service_store: ServiceStore, cipher: SecretCipher, acme: Organization
) -> None:
    await add(service_store, cipher, acme, "signing_key", "first")
    with pytest.raises(ConflictError, match="a secret named signing_key exists"):
        await add(service_store, cipher, acme, "signing_key", "second")
    values = await values_at(service_store, cipher, acme, T0 + 1)
    assert values.current == {"signing_key": "first"}


async def test_a_listing_is_metadata_only_sorted_by_name(
    service_store: ServiceStore, cipher: SecretCipher, acme: Organization
) -> None:
    zulu = await add(service_store, cipher, acme, "zulu", "z-value")
    alpha = await add(service_store, cipher, acme, "alpha", "a-value")
    listed = await service_store.accounts.list_secrets(org_id=acme.id, now=T0 + 1)
    assert listed == [alpha, zulu]
    assert {field.name for field in dataclasses.fields(SecretInfo)} == {
        "id",
        "name",
        "version",
        "created_at",
        "updated_at",
        "previous_until",
        "kind",
    }
    assert "a-value" not in repr(listed)
    assert await service_store.accounts.secret_names(org_id=acme.id) == {"alpha", "zulu"}


async def test_a_rotation_keeps_the_old_value_signing_until_its_grace_ends(
    service_store: ServiceStore, cipher: SecretCipher, acme: Organization
) -> None:
    await add(service_store, cipher, acme, "signing_key", "old")
    rotated = await service_store.accounts.rotate_secret(
        cipher,
        org_id=acme.id,
        name="signing_key",
        value="new",
        grace=GRACE,
        now=T0 + 10,
    )
    assert (rotated.version, rotated.updated_at) == (2, T0 + 10)
    assert rotated.previous_until == T0 + 10 + GRACE
    during = await values_at(service_store, cipher, acme, T0 + 10 + GRACE - 1)
    assert (during.current, during.previous) == ({"signing_key": "new"}, {"signing_key": "old"})
    for after in (T0 + 10 + GRACE, T0 + 10 + GRACE + 1):
        ended = await values_at(service_store, cipher, acme, after)
        assert (ended.current, ended.previous) == ({"signing_key": "new"}, {})
    info = await service_store.accounts.get_secret(
        org_id=acme.id, name="signing_key", now=T0 + 10 + GRACE
    )
    assert (info.version, info.previous_until) == (2, None)


async def test_a_rotation_without_grace_drops_the_old_value_at_once(
    service_store: ServiceStore, cipher: SecretCipher, acme: Organization
) -> None:
    await add(service_store, cipher, acme, "signing_key", "old")
    rotated = await service_store.accounts.rotate_secret(
        cipher,
        org_id=acme.id,
        name="signing_key",
        value="new",
        grace=0.0,
        now=T0 + 10,
    )
    assert (rotated.version, rotated.previous_until) == (2, None)
    values = await values_at(service_store, cipher, acme, T0 + 10)
    assert (values.current, values.previous) == ({"signing_key": "new"}, {})


async def test_a_deleted_secret_is_gone(
    service_store: ServiceStore, cipher: SecretCipher, acme: Organization
) -> None:
    await add(service_store, cipher, acme, "signing_key", "s3cret")
    await add(service_store, cipher, acme, "other", "kept")
    await service_store.accounts.delete_secret(org_id=acme.id, name="signing_key")
    with pytest.raises(NotFoundError, match="no secret named signing_key"):
        await service_store.accounts.get_secret(org_id=acme.id, name="signing_key", now=T0)
    with pytest.raises(NotFoundError):
        await service_store.accounts.delete_secret(org_id=acme.id, name="signing_key")
    values = await values_at(service_store, cipher, acme, T0)
    assert values.current == {"other": "kept"}


async def test_another_organization_cannot_reach_a_secret(
    service_store: ServiceStore, cipher: SecretCipher, acme: Organization, bravo: Organization
) -> None:
    await add(service_store, cipher, acme, "signing_key", "a-value")
    with pytest.raises(NotFoundError):
        await service_store.accounts.get_secret(org_id=bravo.id, name="signing_key", now=T0)
    with pytest.raises(NotFoundError):
        await service_store.accounts.rotate_secret(
            cipher,
            org_id=bravo.id,
            name="signing_key",
            value="b-value",
            grace=GRACE,
            now=T0,
        )
    with pytest.raises(NotFoundError):
        await service_store.accounts.delete_secret(org_id=bravo.id, name="signing_key")
    assert (await values_at(service_store, cipher, bravo, T0)).current == {}
    assert await service_store.accounts.list_secrets(org_id=bravo.id, now=T0) == []
    untouched = await service_store.accounts.get_secret(org_id=acme.id, name="signing_key", now=T0)
    assert untouched.version == 1
    assert (await values_at(service_store, cipher, acme, T0)).current == {"signing_key": "a-value"}


async def test_two_organizations_may_each_hold_the_same_name(
    service_store: ServiceStore, cipher: SecretCipher, acme: Organization, bravo: Organization
) -> None:
    await add(service_store, cipher, acme, "signing_key", "a-value")
    await add(service_store, cipher, bravo, "signing_key", "b-value")
    assert (await values_at(service_store, cipher, acme, T0)).current == {"signing_key": "a-value"}
    assert (await values_at(service_store, cipher, bravo, T0)).current == {"signing_key": "b-value"}


async def test_values_stored_under_another_key_are_refused(
    service_store: ServiceStore, cipher: SecretCipher, acme: Organization
) -> None:
    await add(service_store, cipher, acme, "signing_key", "s3cret")
    other = SecretCipher(random_bytes.token_bytes(32))
    with pytest.raises(SecretKeyError, match=cipher.fingerprint):
        await values_at(service_store, other, acme, T0)


async def test_stored_org_secrets_read_afresh_for_each_attempt(
    service_store: ServiceStore, cipher: SecretCipher, acme: Organization
) -> None:
    reader = StoredOrgSecrets(service_store, cipher)
    await add(service_store, cipher, acme, "signing_key", "old")
    first = await reader.values(acme.id, now=T0)
    await service_store.accounts.rotate_secret(
        cipher,
        org_id=acme.id,
        name="signing_key",
        value="new",
        grace=GRACE,
        now=T0 + 1,
    )
    second = await reader.values(acme.id, now=T0 + 2)
    assert (first.current, first.previous) == ({"signing_key": "old"}, {})
    assert (second.current, second.previous) == ({"signing_key": "new"}, {"signing_key": "old"})
    assert "new" not in repr(second)
    assert "old" not in repr(second)
