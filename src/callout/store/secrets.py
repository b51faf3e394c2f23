"""An organization's secrets: stored encrypted, listed by name, never returned by value.

Rotation keeps the previous value beside the new one until `previous_until`,
so both sign (newest first) while receivers switch over.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import sqlalchemy as sa

from callout.model.ids import new_id
from callout.store.encryption import SecretCipher
from callout.store.protocol import ConflictError, NotFoundError
from callout.store.sql_store import SqlStore
from callout.store.tables import secrets

DEFAULT_ROTATION_GRACE = 24 * 3600.0
"""Seconds a rotated secret's previous value keeps signing, unless the rotation says."""

MAX_ROTATION_GRACE = 7 * 24 * 3600.0


@dataclass(frozen=True, slots=True)
class SecretInfo:
    """What may be shown of a secret: never its value."""

    id: str
    name: str
    version: int
    created_at: float
    updated_at: float
    previous_until: float | None


@dataclass(frozen=True, slots=True)
class SecretValues:
    """An organization's secret values for one attempt (never logged, never stored resolved)."""

    current: Mapping[str, str] = field(default_factory=dict, repr=False)
    previous: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        return f"SecretValues(names={sorted(self.current)!r}, values hidden)"


class OrgSecrets(Protocol):
    """Where a worker reads an organization's secrets at each attempt."""

    async def values(self, org_id: str, *, now: float) -> SecretValues:
        """Return the organization's secret values, with those still in a rotation's grace."""
        ...


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
    )


def _row(conn: sa.Connection, org_id: str, name: str) -> Any:
    row = conn.execute(
        sa.select(secrets).where(secrets.c.org_id == org_id).where(secrets.c.name == name)
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"no secret named {name}")
    return row


def create_secret(  # noqa: PLR0913
    conn: sa.Connection, cipher: SecretCipher, *, org_id: str, name: str, value: str, now: float
) -> SecretInfo:
    """Store a new secret. Raises ConflictError when the name is taken."""
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


@dataclass(frozen=True, slots=True)
class StoredOrgSecrets:
    """`OrgSecrets` read from the store and decrypted with the operator's key."""

    store: SqlStore
    cipher: SecretCipher

    async def values(self, org_id: str, *, now: float) -> SecretValues:
        """Return the organization's secret values, read afresh for each attempt."""
        return await self.store.read(secret_values, self.cipher, org_id=org_id, now=now)
