"""Organizations and their API keys in SQL. A key is shown once and stored as its SHA-256.

The records and the contract are in `account_records.py`; `SqlAccounts` calls
these functions, each on the connection of one transaction.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from callout.model.ids import new_id
from callout.model.plans import Plan
from callout.store.account_keys import KEY_PREFIX, hash_key, key_prefix, new_api_key
from callout.store.account_records import (
    LAST_USED_EVERY,
    ApiKeyInfo,
    Caller,
    NewApiKey,
    Organization,
)
from callout.store.protocol import NotFoundError
from callout.store.tables import api_keys, dashboard_sessions, organizations

__all__ = [
    "KEY_PREFIX",
    "LAST_USED_EVERY",
    "ApiKeyInfo",
    "Caller",
    "NewApiKey",
    "Organization",
    "caller_for_key",
    "create_api_key",
    "create_organization",
    "get_organization",
    "hash_key",
    "list_api_keys",
    "list_organizations",
    "mark_key_used",
    "revoke_api_key",
    "set_plan",
]


def _organization(row: Any) -> Organization:
    return Organization(id=row.id, name=row.name, plan=Plan(row.plan), created_at=row.created_at)


def _key_info(row: Any) -> ApiKeyInfo:
    return ApiKeyInfo(
        id=row.id,
        org_id=row.org_id,
        name=row.name,
        prefix=row.prefix,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def create_organization(
    conn: sa.Connection, *, name: str, plan: Plan, now: float
) -> tuple[Organization, NewApiKey]:
    """Create an organization with its first API key."""
    org_id = new_id("org", now=now)
    conn.execute(
        organizations.insert().values(
            id=org_id, name=name, plan=plan.value, created_at=now, updated_at=now
        )
    )
    return get_organization(conn, org_id=org_id), create_api_key(
        conn, org_id=org_id, name="first key", now=now
    )


def get_organization(conn: sa.Connection, *, org_id: str) -> Organization:
    """Return one organization. Raises NotFoundError."""
    row = conn.execute(sa.select(organizations).where(organizations.c.id == org_id)).one_or_none()
    if row is None:
        raise NotFoundError(f"no organization {org_id}")
    return _organization(row)


def list_organizations(conn: sa.Connection) -> list[Organization]:
    """Return every organization, oldest first."""
    rows = conn.execute(sa.select(organizations).order_by(organizations.c.id)).all()
    return [_organization(row) for row in rows]


def set_plan(conn: sa.Connection, *, org_id: str, plan: Plan, now: float) -> Organization:
    """Move an organization to another plan. Raises NotFoundError."""
    changed = conn.execute(
        sa.update(organizations)
        .where(organizations.c.id == org_id)
        .values(plan=plan.value, updated_at=now)
    )
    if changed.rowcount == 0:
        raise NotFoundError(f"no organization {org_id}")
    return get_organization(conn, org_id=org_id)


def create_api_key(conn: sa.Connection, *, org_id: str, name: str, now: float) -> NewApiKey:
    """Make a key for an organization; the key itself is returned this once."""
    get_organization(conn, org_id=org_id)
    key = new_api_key()
    key_id = new_id("key", now=now)
    conn.execute(
        api_keys.insert().values(
            id=key_id,
            org_id=org_id,
            name=name,
            prefix=key_prefix(key),
            key_hash=hash_key(key),
            created_at=now,
        )
    )
    row = conn.execute(sa.select(api_keys).where(api_keys.c.id == key_id)).one()
    return NewApiKey(info=_key_info(row), key=key)


def list_api_keys(conn: sa.Connection, *, org_id: str) -> list[ApiKeyInfo]:
    """Return an organization's keys, revoked ones included, oldest first."""
    rows = conn.execute(
        sa.select(api_keys).where(api_keys.c.org_id == org_id).order_by(api_keys.c.id)
    ).all()
    return [_key_info(row) for row in rows]


def revoke_api_key(
    conn: sa.Connection, *, key_id: str, now: float, org_id: str | None = None
) -> ApiKeyInfo:
    """Revoke a key (of `org_id` when given): it signs nobody in again. Idempotent.

    The dashboard sessions it opened end with it.
    """
    query = sa.select(api_keys).where(api_keys.c.id == key_id)
    if org_id is not None:
        query = query.where(api_keys.c.org_id == org_id)
    row = conn.execute(query).one_or_none()
    if row is None:
        raise NotFoundError(f"no API key {key_id}")
    if row.revoked_at is None:
        conn.execute(sa.update(api_keys).where(api_keys.c.id == key_id).values(revoked_at=now))
        # Its dashboard sessions end with it (store/sessions.py also refuses a revoked key's).
        conn.execute(
            sa.update(dashboard_sessions)
            .where(dashboard_sessions.c.key_id == key_id)
            .where(dashboard_sessions.c.ended_at.is_(None))
            .values(ended_at=now)
        )
    return _key_info(conn.execute(sa.select(api_keys).where(api_keys.c.id == key_id)).one())


def caller_for_key(conn: sa.Connection, *, key: str) -> Caller | None:
    """Return who `key` signs in as, or None for an unknown or revoked key."""
    row = conn.execute(
        sa.select(
            api_keys.c.id.label("key_id"),
            api_keys.c.last_used_at,
            organizations.c.id.label("org_id"),
            organizations.c.name,
            organizations.c.plan,
            organizations.c.created_at,
        )
        .join(organizations, organizations.c.id == api_keys.c.org_id)
        .where(api_keys.c.key_hash == hash_key(key))
        .where(api_keys.c.revoked_at.is_(None))
    ).one_or_none()
    if row is None:
        return None
    return Caller(
        org=Organization(
            id=row.org_id, name=row.name, plan=Plan(row.plan), created_at=row.created_at
        ),
        key_id=row.key_id,
        last_used_at=row.last_used_at,
    )


def mark_key_used(conn: sa.Connection, *, key_id: str, now: float) -> None:
    """Record that a key was used (callers do this at most every LAST_USED_EVERY seconds)."""
    conn.execute(sa.update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=now))
