"""A secret's value is never in the database in clear: not in a row, not in the file."""

from __future__ import annotations

import base64
from pathlib import Path

import sqlalchemy as sa

from callout.store.account_records import Organization
from callout.store.database import database_url
from callout.store.encryption import SecretCipher
from callout.store.sql_store import SqlStore, open_store
from callout.store.tables import secrets
from integration.service_store.seeds import T0, new_org

FIRST = "whsec_first-distinctive-value-8c41e0"
SECOND = "whsec_second-distinctive-value-2b77d5"


def clear_forms(value: str) -> list[bytes]:
    """The ways a value could appear unencrypted: as text, in base64, in UTF-16."""
    return [
        value.encode(),
        base64.b64encode(value.encode()),
        base64.urlsafe_b64encode(value.encode()),
        value.encode("utf-16-le"),
    ]


async def store_two_values(store: SqlStore, cipher: SecretCipher, org: Organization) -> None:
    await store.accounts.create_secret(
        cipher, org_id=org.id, name="signing_key", value=FIRST, now=T0
    )
    await store.accounts.rotate_secret(
        cipher,
        org_id=org.id,
        name="signing_key",
        value=SECOND,
        grace=3600.0,
        now=T0 + 1,
    )


def database_bytes(folder: Path, name: str) -> bytes:
    """The bytes of a SQLite database: its file, and its -wal and -shm files if left."""
    files = [found for found in folder.iterdir() if found.name.startswith(name)]
    assert folder / name in files
    return b"".join(found.read_bytes() for found in files)


def raw_secret_rows(conn: sa.Connection) -> list[sa.Row[tuple[object, ...]]]:
    return list(conn.execute(sa.select(secrets)).all())


async def test_a_secret_row_holds_no_value_in_clear(
    store: SqlStore, cipher: SecretCipher, org_a: Organization
) -> None:
    await store_two_values(store, cipher, org_a)
    [row] = await store.read(raw_secret_rows)
    assert row.name == "signing_key"
    assert row.value.startswith(f"v1.{cipher.fingerprint}.")
    assert row.previous_value.startswith(f"v1.{cipher.fingerprint}.")
    cells = " ".join(str(cell) for cell in row).encode()
    for value in (FIRST, SECOND):
        for form in clear_forms(value):
            assert form not in cells
    current = await store.accounts.secret_values(cipher, org_id=org_a.id, now=T0 + 2)
    assert (current.current, current.previous) == ({"signing_key": SECOND}, {"signing_key": FIRST})


async def test_a_sqlite_file_holds_no_secret_value_in_clear(
    tmp_path: Path, cipher: SecretCipher
) -> None:
    path = tmp_path / "callout.db"
    store = await open_store(database_url(str(path)))
    try:
        org = await new_org(store, "Acme", now=T0)
        await store_two_values(store, cipher, org)
    finally:
        await store.close()
    written = database_bytes(tmp_path, "callout.db")
    assert b"signing_key" in written  # the secret's row is in what was read
    for value in (FIRST, SECOND):
        for form in clear_forms(value):
            assert form not in written
