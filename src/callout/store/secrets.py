"""An organization's secrets in SQL: stored encrypted, listed by name, never returned by value.

Rotation keeps the previous value beside the new one until `previous_until`,
so both sign (newest first) while receivers switch over. The records and the
contract are in `account_records.py`.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from callout.model.ids import new_id
from callout.store.account_records import (
    DEFAULT_ROTATION_GRACE,
    MAX_ROTATION_GRACE,
    OrgSecrets,
    SecretInfo,
    SecretKind,
    SecretValues,
    StoredOrgSecrets,
)
from callout.store.encryption import SecretCipher
from callout.store.protocol import ConflictError, NotFoundError
from callout.store.tables import secrets

__all__ = [
    "DEFAULT_ROTATION_GRACE",
    "MAX_ROTATION_GRACE",
    "OrgSecrets",
    "SecretInfo",
    "SecretValues",
    "StoredOrgSecrets",
    "create_secret",
    "delete_secret",
    "get_secret",
    "list_secrets",
    "rotate_secret",
    "secret_names",
    "secret_values",
]


def _info(row: Any, now: float | None = None) -> SecretInfo:
    until = row.previous_until
    if until is not None and now is not None and until <= now:
        until = None
    return SecretInfo(
        id=row.id,
        name=row.name,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        previous_until=until,
        kind=row.kind,
    )


def _row(conn: sa.Connection, org_id: str, name: str) -> Any:
    row = conn.execute(
        sa.select(secrets).where(secrets.c.org_id == org_id).where(secrets.c.name == name)
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"no secret named {name}")
    return row


def create_secret(  # noqa: PLR0913
    conn: sa.Connection,
    cipher: SecretCipher,
    *,
    org_id: str,
    name: str,
    value: str,
    now: float,
    kind: SecretKind = "text",
) -> SecretInfo:
    """Store a new secret of `kind`. Raises ConflictError when the name is taken."""
    taken = conn.execute(
        sa.select(secrets.c.id).where(secrets.c.org_id == org_id).where(secrets.c.name == name)
    ).first()
    if taken is not None:
        raise ConflictError(f"a secret named {name} exists; rotate it to change its value")
    secret_id = new_id("sec", now=now)
    conn.execute(
        secrets.insert().values(
            id=secret_id,
            org_id=org_id,
            name=name,
            value=cipher.encrypt(value, org_id=org_id, name=name),
            version=1,
            created_at=now,
            updated_at=now,
            kind=kind,
        )
    )
    return _info(_row(conn, org_id, name), now)


def list_secrets(conn: sa.Connection, *, org_id: str, now: float) -> list[SecretInfo]:
    """Return an organization's secrets by name."""
    rows = conn.execute(
        sa.select(secrets).where(secrets.c.org_id == org_id).order_by(secrets.c.name)
    ).all()
    return [_info(row, now) for row in rows]


def get_secret(conn: sa.Connection, *, org_id: str, name: str, now: float) -> SecretInfo:
    """Return one secret's metadata. Raises NotFoundError."""
    return _info(_row(conn, org_id, name), now)


def rotate_secret(  # noqa: PLR0913 - each is a distinct fact of the rotation
    conn: sa.Connection,
    cipher: SecretCipher,
    *,
    org_id: str,
    name: str,
    value: str,
    grace: float,
    now: float,
) -> SecretInfo:
    """Give a secret a new value; the old one keeps signing for `grace` seconds."""
    row = _row(conn, org_id, name)
    conn.execute(
        sa.update(secrets)
        .where(secrets.c.id == row.id)
        .values(
            value=cipher.encrypt(value, org_id=org_id, name=name),
            previous_value=row.value if grace > 0 else None,
            previous_until=now + grace if grace > 0 else None,
            version=row.version + 1,
            updated_at=now,
        )
    )
    return _info(_row(conn, org_id, name), now)


def delete_secret(conn: sa.Connection, *, org_id: str, name: str) -> None:
    """Delete a secret and its previous value. Raises NotFoundError."""
    deleted = conn.execute(
        sa.delete(secrets).where(secrets.c.org_id == org_id).where(secrets.c.name == name)
    )
    if deleted.rowcount == 0:
        raise NotFoundError(f"no secret named {name}")


def secret_names(conn: sa.Connection, *, org_id: str) -> frozenset[str]:
    """Return the names of an organization's secrets."""
    return frozenset(
        conn.execute(sa.select(secrets.c.name).where(secrets.c.org_id == org_id)).scalars()
    )


def secret_values(
    conn: sa.Connection, cipher: SecretCipher, *, org_id: str, now: float
) -> SecretValues:
    """Decrypt an organization's secrets (and previous values still in their grace)."""
    current: dict[str, str] = {}
    previous: dict[str, str] = {}
    for row in conn.execute(sa.select(secrets).where(secrets.c.org_id == org_id)):
        current[row.name] = cipher.decrypt(row.value, org_id=org_id, name=row.name)
        if row.previous_value is not None and (row.previous_until or 0) > now:
            previous[row.name] = cipher.decrypt(row.previous_value, org_id=org_id, name=row.name)
    return SecretValues(current, previous)
