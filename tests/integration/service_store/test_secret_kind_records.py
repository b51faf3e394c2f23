"""A secret's kind (`text` or `certificate`): stored, shown, kept by a rotation.

On SQLite, PostgreSQL and in memory (`service_store`); a row written before kinds
existed (no `kind` given) reads as `text` on SQL.
"""

from __future__ import annotations

import sqlalchemy as sa

from callout.store.account_records import Organization, SecretInfo
from callout.store.encryption import SecretCipher
from callout.store.service import ServiceStore
from callout.store.sql_store import SqlStore
from callout.store.tables import secrets
from integration.service_store.seeds import T0

CERTIFICATE = "-----BEGIN CERTIFICATE-----\n(the store does not read it)\n"


async def add(
    store: ServiceStore,
    cipher: SecretCipher,
    org: Organization,
    name: str,
    **kind: str,
) -> SecretInfo:
    return await store.accounts.create_secret(
        cipher,
        org_id=org.id,
        name=name,
        value=CERTIFICATE if kind else "s3cret",
        now=T0,
        **kind,  # type: ignore[arg-type]
    )


async def test_a_secret_is_text_unless_told(
    service_store: ServiceStore, cipher: SecretCipher, acme: Organization
) -> None:
    created = await add(service_store, cipher, acme, "token")
    assert created.kind == "text"
    fetched = await service_store.accounts.get_secret(org_id=acme.id, name="token", now=T0)
    assert fetched.kind == "text"


async def test_a_certificate_secret_keeps_its_kind_in_get_and_list(
    service_store: ServiceStore, cipher: SecretCipher, acme: Organization
) -> None:
    created = await add(service_store, cipher, acme, "partner_cert", kind="certificate")
    assert created.kind == "certificate"
    await add(service_store, cipher, acme, "token")
    fetched = await service_store.accounts.get_secret(org_id=acme.id, name="partner_cert", now=T0)
    assert fetched == created
    listed = await service_store.accounts.list_secrets(org_id=acme.id, now=T0)
    assert [(info.name, info.kind) for info in listed] == [
        ("partner_cert", "certificate"),
        ("token", "text"),
    ]


async def test_a_rotation_keeps_the_kind(
    service_store: ServiceStore, cipher: SecretCipher, acme: Organization
) -> None:
    await add(service_store, cipher, acme, "partner_cert", kind="certificate")
    await add(service_store, cipher, acme, "token")
    accounts = service_store.accounts
    rotated = await accounts.rotate_secret(
        cipher, org_id=acme.id, name="partner_cert", value=CERTIFICATE + "2", grace=0, now=T0 + 1
    )
    assert (rotated.kind, rotated.version) == ("certificate", 2)
    text = await accounts.rotate_secret(
        cipher, org_id=acme.id, name="token", value="next", grace=60, now=T0 + 1
    )
    assert text.kind == "text"
    values = await accounts.secret_values(cipher, org_id=acme.id, now=T0 + 2)
    assert values.current["partner_cert"] == CERTIFICATE + "2"


async def test_a_row_written_without_a_kind_reads_as_text(
    store: SqlStore, cipher: SecretCipher, org_a: Organization
) -> None:
    def insert_as_before_kinds(conn: sa.Connection) -> None:
        conn.execute(
            secrets.insert().values(
                id="sec_old",
                org_id=org_a.id,
                name="legacy",
                value=cipher.encrypt("v", org_id=org_a.id, name="legacy"),
                version=1,
                created_at=T0,
                updated_at=T0,
            )
        )

    await store.write(insert_as_before_kinds)
    info = await store.accounts.get_secret(org_id=org_a.id, name="legacy", now=T0)
    assert info.kind == "text"
