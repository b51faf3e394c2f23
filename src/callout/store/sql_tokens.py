"""`AccessTokenRecords` on SQLite or PostgreSQL: the database decides who fetches a token.

A look-up first reads (a reader connection, no lock). Only when no fresh token
is there does it write: the record's row is made if missing (insert on conflict
do nothing), then locked (`FOR UPDATE` on PostgreSQL; SQLite has one writer),
and the decision (wait, fail, or take the lease) is made on the locked row with
the database's time, in one short transaction with no network I/O in it. Two
workers asking at once are serialised on that row: the first takes the lease,
the second sees it and waits. The contract is in `token_records.py`.
"""

from __future__ import annotations

import functools
import secrets
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from callout.model.errors import StoreError
from callout.store.database_clock import database_now_number
from callout.store.driver_errors import unavailable
from callout.store.tables import access_tokens
from callout.store.token_records import (
    FORGOTTEN_AFTER,
    MAX_FAILURE_CHARS,
    FetchLease,
    TokenFound,
    TokenLookup,
    answer_without_lease,
    fresh_token,
    sealing_org,
    token_name,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from callout.store.encryption import SecretCipher
    from callout.store.sql_store import SqlStore

_T = access_tokens.c
T = TypeVar("T")


def read_token(
    conn: sa.Connection, cipher: SecretCipher, *, key: str, refused: str | None
) -> TokenFound | None:
    """Return the stored token if it is fresh and not `refused` (no lock, no write)."""
    row = conn.execute(sa.select(access_tokens).where(_T.cache_key == key)).one_or_none()
    return fresh_token(row, cipher, key=key, now=database_now_number(conn), refused=refused)


def _insert_missing(conn: sa.Connection, *, key: str, org_id: str | None, now: float) -> None:
    values = {"cache_key": key, "org_id": org_id, "updated_at": now}
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(access_tokens).values(**values).on_conflict_do_nothing())


def decide_fetch(  # noqa: PLR0913 - the question, whole
    conn: sa.Connection,
    cipher: SecretCipher,
    *,
    key: str,
    org_id: str | None,
    lease_seconds: float,
    refused: str | None,
    waited_for: str | None,
) -> TokenLookup:
    """On the locked row: the token, a fetch underway, the awaited fetch's failure, or a lease."""
    now = database_now_number(conn)
    _insert_missing(conn, key=key, org_id=org_id, now=now)
    row = conn.execute(sa.select(access_tokens).where(_T.cache_key == key).with_for_update()).one()
    answer = answer_without_lease(
        row, cipher, key=key, now=now, refused=refused, waited_for=waited_for
    )
    if answer is not None:
        return answer
    lease = secrets.token_hex(16)
    changes: dict[str, Any] = {
        "lease": lease,
        "fetching_until": now + lease_seconds,
        "failure": None,
        "failure_retryable": False,
        "updated_at": now,
    }
    if refused is not None:
        # The refused token (or a stale one) is dropped: nobody is handed it again.
        changes |= {"token": None, "refresh_at": None, "expires_at": None}
    conn.execute(sa.update(access_tokens).where(_T.cache_key == key).values(**changes))
    return FetchLease(lease=lease)


def store_fetched(  # noqa: PLR0913 - each is a distinct fact of the token
    conn: sa.Connection,
    cipher: SecretCipher,
    *,
    key: str,
    org_id: str | None,
    lease: str,
    token: str,
    fresh_for: float,
    expires_in: float,
) -> bool:
    """Keep the token under `lease` (fenced: False when the lease is no longer current)."""
    now = database_now_number(conn)
    stored = conn.execute(
        sa.update(access_tokens)
        .where(_T.cache_key == key)
        .where(_T.lease == lease)
        .values(
            token=cipher.encrypt(token, org_id=sealing_org(org_id), name=token_name(key)),
            refresh_at=now + fresh_for,
            expires_at=now + expires_in,
            fetching_until=None,
            failure=None,
            failure_retryable=False,
            updated_at=now,
        )
    )
    # Records of credentials no longer used (a rotated client secret, a deleted step).
    conn.execute(
        sa.delete(access_tokens)
        .where(_T.updated_at < now - FORGOTTEN_AFTER)
        .where(sa.or_(_T.refresh_at.is_(None), _T.refresh_at < now))
        .where(sa.or_(_T.fetching_until.is_(None), _T.fetching_until < now))
    )
    return bool(stored.rowcount)


def record_failure(
    conn: sa.Connection, *, key: str, lease: str, message: str, retryable: bool
) -> None:
    """End the lease with a failure for those who waited for it (fenced by `lease`)."""
    now = database_now_number(conn)
    conn.execute(
        sa.update(access_tokens)
        .where(_T.cache_key == key)
        .where(_T.lease == lease)
        .values(
            fetching_until=None,
            failure=message[:MAX_FAILURE_CHARS],
            failure_retryable=retryable,
            updated_at=now,
        )
    )


class SqlAccessTokens:
    """Access tokens in the SQL store (through `SqlStore`'s threads and group commit)."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    async def look_up(  # noqa: PLR0913 - each is a distinct fact of the question
        self,
        cipher: SecretCipher,
        *,
        key: str,
        org_id: str | None,
        lease_seconds: float,
        refused: str | None = None,
        waited_for: str | None = None,
    ) -> TokenLookup:
        """Return the stored token, or decide who fetches one (see `AccessTokenRecords`)."""
        found = await _guarded(
            functools.partial(self._store.read, read_token, cipher, key=key, refused=refused)
        )
        if found is not None:
            return found
        return await _guarded(
            functools.partial(
                self._store.write,
                decide_fetch,
                cipher,
                key=key,
                org_id=org_id,
                lease_seconds=lease_seconds,
                refused=refused,
                waited_for=waited_for,
            )
        )

    async def store_fetched(  # noqa: PLR0913 - each is a distinct fact of the token
        self,
        cipher: SecretCipher,
        *,
        key: str,
        org_id: str | None,
        lease: str,
        token: str,
        fresh_for: float,
        expires_in: float,
    ) -> bool:
        """Keep a fetched token under `lease`; False when the lease is no longer current."""
        return await _guarded(
            functools.partial(
                self._store.write,
                store_fetched,
                cipher,
                key=key,
                org_id=org_id,
                lease=lease,
                token=token,
                fresh_for=fresh_for,
                expires_in=expires_in,
            )
        )

    async def record_failure(self, *, key: str, lease: str, message: str, retryable: bool) -> None:
        """End the lease with a failure that the callers waiting for it are told."""
        await _guarded(
            functools.partial(
                self._store.write,
                record_failure,
                key=key,
                lease=lease,
                message=message,
                retryable=retryable,
            )
        )


async def _guarded(call: Callable[[], Awaitable[T]]) -> T:
    """Run `call`; a database error that is not an outage becomes a `StoreError`.

    A deadlock between two group commits, say, must reach the engine (which imports no
    SQLAlchemy) as a store failure it can handle, not as a driver's exception.
    """
    try:
        return await call()
    except sa.exc.SQLAlchemyError as exc:
        if unavailable(exc) is not None:
            raise
        raise StoreError(
            f"the access token record could not be used ({type(exc).__name__})"
        ) from exc
