"""What a worker asks of a store about OAuth2 access tokens: one fetch shared by every worker.

A token is kept under a key (an HMAC of the organization and the client
credentials, made by `callout.engine.token_source`), encrypted with the
operator's key like a secret. Who fetches a missing or stale token is decided by
the database: `look_up` takes a fetch lease (`fetching_until`, a time on the
database's clock) for exactly one caller; the others are told a fetch is
underway and ask again. The fetcher stores the token under its lease
(`store_fetched`), or records why it failed (`record_failure`) so those who
waited for that fetch get its error instead of each fetching in turn.

Callers pass durations, never times: the store stamps every time with the
database's clock. `SqlAccessTokens` (sql_tokens.py) and `MemoryAccessTokens`
(memory_tokens.py) pass the same contract tests
(tests/integration/service_store/test_token_records.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from callout.store.encryption import SecretKeyError

if TYPE_CHECKING:
    from callout.store.encryption import SecretCipher

MAX_FAILURE_CHARS = 1000
"""The longest failure message a record keeps (messages never hold a secret)."""

FORGOTTEN_AFTER = 24 * 3600.0
"""Seconds after its last change that a record no longer in use (its token stale, no fetch
underway) is deleted, when any token is stored: credentials that changed leave no rows behind."""


@dataclass(frozen=True, slots=True)
class TokenFound:
    """A stored token to hand out for `fresh_for` more seconds (by the database's clock)."""

    token: str = field(repr=False)
    fresh_for: float


@dataclass(frozen=True, slots=True)
class FetchLease:
    """The caller fetches the token; others wait until `store_fetched` or the lease runs out."""

    lease: str


@dataclass(frozen=True, slots=True)
class FetchUnderway:
    """Another caller is fetching under `lease`, which runs out in `wait` seconds: ask again."""

    lease: str
    wait: float


@dataclass(frozen=True, slots=True)
class FetchFailed:
    """The fetch this caller waited for failed; `message` says why (no secret in it)."""

    message: str
    retryable: bool


TokenLookup = TokenFound | FetchLease | FetchUnderway | FetchFailed


def token_name(key: str) -> str:
    """Return the name a token under `key` is encrypted with (bound into its ciphertext)."""
    return f"access-token/{key}"


def sealing_org(org_id: str | None) -> str:
    """Return the organization a token is encrypted for ("-" for runs of no organization)."""
    return org_id if org_id is not None else "-"


class StoredTokenRecord(Protocol):
    """What a token record holds, as both stores keep it (a table row, a memory record)."""

    org_id: str | None
    token: str | None  # encrypted
    refresh_at: float | None
    lease: str | None
    fetching_until: float | None
    failure: str | None
    failure_retryable: bool


def fresh_token(
    record: StoredTokenRecord | None,
    cipher: SecretCipher,
    *,
    key: str,
    now: float,
    refused: str | None,
) -> TokenFound | None:
    """Return the record's token while it is fresh and not `refused`; None otherwise."""
    if record is None or record.token is None or record.refresh_at is None:
        return None
    if record.refresh_at <= now:
        return None
    try:
        token = cipher.decrypt(
            record.token, org_id=sealing_org(record.org_id), name=token_name(key)
        )
    except SecretKeyError:
        return None  # another key, or altered: fetched anew and overwritten
    if refused is not None and token == refused:
        return None
    return TokenFound(token=token, fresh_for=record.refresh_at - now)


def answer_without_lease(  # noqa: PLR0913 - the question, whole
    record: StoredTokenRecord,
    cipher: SecretCipher,
    *,
    key: str,
    now: float,
    refused: str | None,
    waited_for: str | None,
) -> TokenLookup | None:
    """Decide a look-up on its (locked) record, or None: the caller takes a new lease.

    The token while fresh; else a fetch underway while its lease runs; else the
    failure of the fetch under `waited_for`.
    """
    found = fresh_token(record, cipher, key=key, now=now, refused=refused)
    if found is not None:
        return found
    if (
        record.fetching_until is not None
        and record.fetching_until > now
        and record.lease is not None
    ):
        return FetchUnderway(lease=record.lease, wait=record.fetching_until - now)
    if waited_for is not None and record.lease == waited_for and record.failure is not None:
        return FetchFailed(message=record.failure, retryable=bool(record.failure_retryable))
    return None


class AccessTokenRecords(Protocol):
    """Access tokens by key, and the fetch lease that makes one fetch serve every worker."""

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
        """Return the stored token, or decide who fetches one.

        - a token still fresh that is not `refused`: `TokenFound`;
        - else, while another caller's lease runs: `FetchUnderway`;
        - else, when the fetch under lease `waited_for` ended with a failure: `FetchFailed`;
        - else: a new lease of `lease_seconds` for this caller (`FetchLease`); a
          `refused` token is dropped then, so nobody is handed it again.
        A stored token that does not decrypt under `cipher` counts as absent.
        """
        ...

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
        """Keep a fetched token, handed out for `fresh_for` seconds; end the lease.

        Returns False (and keeps nothing) when `lease` is no longer the record's
        current one: it ran out and another caller took over.
        """
        ...

    async def record_failure(self, *, key: str, lease: str, message: str, retryable: bool) -> None:
        """End the lease with a failure that the callers waiting for it are told."""
        ...
