"""Dashboard sessions in SQL: the record of each signed-in browser, read on every request.

A session is named by a random id (256 bits) that only the browser's cookie
holds; the table keeps its SHA-256, so a copy of the database signs nobody
in. A session acts for one API key and its organization until it expires,
its browser signs out, or the key is revoked (`revoke_api_key` ends the key's
sessions, and the check refuses a revoked key's session regardless).

Checking a session is one read by primary key, joined to its key and
organization: the same cost as looking up an API key.
"""

from __future__ import annotations

import sqlalchemy as sa

from callout.model.plans import Plan
from callout.store.account_keys import hash_session_id, new_session_id
from callout.store.account_records import (
    MAX_SESSIONS_PER_KEY,
    Caller,
    NewSession,
    Organization,
    SessionCheck,
    SessionState,
)
from callout.store.tables import api_keys, dashboard_sessions, organizations

__all__ = [
    "MAX_SESSIONS_PER_KEY",
    "NewSession",
    "SessionCheck",
    "SessionState",
    "check_session",
    "end_session",
    "hash_session_id",
    "open_session",
]


def _make_room(conn: sa.Connection, *, key_id: str, now: float) -> None:
    """Delete expired sessions, and the key's oldest beyond MAX_SESSIONS_PER_KEY - 1."""
    table = dashboard_sessions
    conn.execute(sa.delete(table).where(table.c.expires_at <= now))
    kept = (
        conn.execute(
            sa.select(table.c.id_hash)
            .where(table.c.key_id == key_id)
            # Ended sessions go first: crowding out an open one signs a browser out.
            .order_by(sa.case((table.c.ended_at.is_(None), 1), else_=0), table.c.created_at)
        )
        .scalars()
        .all()
    )
    surplus = len(kept) - (MAX_SESSIONS_PER_KEY - 1)
    if surplus > 0:
        conn.execute(sa.delete(table).where(table.c.id_hash.in_(kept[:surplus])))


def open_session(
    conn: sa.Connection, *, key_id: str, org_id: str, now: float, lifetime: float
) -> NewSession:
    """Open a session for an API key (the caller has checked the key) lasting `lifetime` s."""
    _make_room(conn, key_id=key_id, now=now)
    session_id = new_session_id()
    conn.execute(
        dashboard_sessions.insert().values(
            id_hash=hash_session_id(session_id),
            key_id=key_id,
            org_id=org_id,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    return NewSession(session_id=session_id, expires_at=now + lifetime)


def check_session(conn: sa.Connection, *, session_id: str, now: float) -> SessionCheck:
    """Return whether a session is open at `now`, and its caller when it is."""
    row = conn.execute(
        sa.select(
            dashboard_sessions.c.expires_at,
            dashboard_sessions.c.ended_at,
            api_keys.c.id.label("key_id"),
            api_keys.c.last_used_at,
            api_keys.c.revoked_at,
            organizations.c.id.label("org_id"),
            organizations.c.name,
            organizations.c.plan,
            organizations.c.created_at,
        )
        .join(api_keys, api_keys.c.id == dashboard_sessions.c.key_id)
        .join(organizations, organizations.c.id == dashboard_sessions.c.org_id)
        .where(dashboard_sessions.c.id_hash == hash_session_id(session_id))
    ).one_or_none()
    if row is None:
        return SessionCheck(SessionState.UNKNOWN)
    if row.ended_at is not None or row.revoked_at is not None:
        return SessionCheck(SessionState.ENDED)
    if row.expires_at <= now:
        return SessionCheck(SessionState.EXPIRED)
    org = Organization(id=row.org_id, name=row.name, plan=Plan(row.plan), created_at=row.created_at)
    return SessionCheck(
        SessionState.OPEN, Caller(org=org, key_id=row.key_id, last_used_at=row.last_used_at)
    )


def end_session(conn: sa.Connection, *, session_id: str, now: float) -> bool:
    """End a session (sign-out); say whether it was open. Idempotent."""
    ended = conn.execute(
        sa.update(dashboard_sessions)
        .where(dashboard_sessions.c.id_hash == hash_session_id(session_id))
        .where(dashboard_sessions.c.ended_at.is_(None))
        .values(ended_at=now)
    )
    return ended.rowcount > 0
