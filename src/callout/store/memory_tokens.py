"""`AccessTokenRecords` in memory (unit tests), passing the same contract tests as SQL.

It keeps what the table keeps: tokens encrypted with the operator's key, times on
the store's clock (the database's, here). Each method runs without awaiting, so
on one event loop a look-up and its decision are one step, as a locked row is.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from callout.store.token_records import (
    FORGOTTEN_AFTER,
    MAX_FAILURE_CHARS,
    FetchLease,
    TokenLookup,
    answer_without_lease,
    sealing_org,
    token_name,
)

if TYPE_CHECKING:
    from callout.model.clock import Clock
    from callout.store.encryption import SecretCipher


@dataclass(slots=True)
class _Record:
    org_id: str | None
    updated_at: float
    token: str | None = None  # encrypted, as in the table
    refresh_at: float | None = None
    expires_at: float | None = None
    lease: str | None = None
    fetching_until: float | None = None
    failure: str | None = None
    failure_retryable: bool = False


class MemoryAccessTokens:
    """Access tokens and their fetch leases in memory (unit tests only)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._records: dict[str, _Record] = {}

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
        now = self._clock.now()
        record = self._records.setdefault(key, _Record(org_id=org_id, updated_at=now))
        answer = answer_without_lease(
            record, cipher, key=key, now=now, refused=refused, waited_for=waited_for
        )
        if answer is not None:
            return answer
        record.lease = secrets.token_hex(16)
        record.fetching_until = now + lease_seconds
        record.failure, record.failure_retryable = None, False
        record.updated_at = now
        if refused is not None:
            record.token = record.refresh_at = record.expires_at = None
        return FetchLease(lease=record.lease)

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
        now = self._clock.now()
        record = self._records.get(key)
        stored = record is not None and record.lease == lease
        if record is not None and stored:
            record.token = cipher.encrypt(token, org_id=sealing_org(org_id), name=token_name(key))
            record.refresh_at = now + fresh_for
            record.expires_at = now + expires_in
            record.fetching_until = None
            record.failure, record.failure_retryable = None, False
            record.updated_at = now
        for old in [
            other
            for other, kept in self._records.items()
            if kept.updated_at < now - FORGOTTEN_AFTER
            and (kept.refresh_at is None or kept.refresh_at < now)
            and (kept.fetching_until is None or kept.fetching_until < now)
        ]:
            del self._records[old]
        return stored

    async def record_failure(self, *, key: str, lease: str, message: str, retryable: bool) -> None:
        """End the lease with a failure that the callers waiting for it are told."""
        record = self._records.get(key)
        if record is None or record.lease != lease:
            return
        record.fetching_until = None
        record.failure, record.failure_retryable = message[:MAX_FAILURE_CHARS], retryable
        record.updated_at = self._clock.now()

    def stored_form(self, key: str) -> str | None:
        """Return the token under `key` as kept (encrypted), for tests that look at rest."""
        record = self._records.get(key)
        return record.token if record is not None else None
