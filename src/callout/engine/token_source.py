"""OAuth2 access tokens for a process's attempts: kept here, shared through the store, fetched once.

`AccessTokens` is one per process (a worker, `callout run`, the API's step test);
`for_organization(org_id)` gives an attempt the `TokenSource` it calls
(`callout.steps.tokens`). Where a token comes from, in order:

1. this process's cache, keyed by an HMAC of (organization, token URL, client
   id, client secret, scopes, audience, client auth), while the token is fresh:
   until `REFRESH_MARGIN` seconds before it expires (at most half its life
   earlier, so a short-lived token is still used);
2. the store (`AccessTokenRecords`), where every worker on the same database
   keeps the tokens it fetched, encrypted with the operator's key;
3. the token endpoint: attempts of this process asking at once share one fetch,
   and across processes the database gives one of them the fetch lease while
   the others wait (polling) for its token, or its error.

A `refused` token (the API answered 401 to it) is dropped, here and in the store,
only while it is still the current one, and a fresh one is fetched; an attempt
that comes later with a token already replaced gets the replacement. When the
store cannot be used (an outage), the token is fetched without sharing rather
than the attempt failing. See docs/oauth2.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from callout.http import Transport
from callout.model.errors import StoreError, TokenError
from callout.steps.token_fetch import fetch_token
from callout.steps.tokens import ClientCredentials
from callout.store.encryption import SecretCipher
from callout.store.token_records import (
    AccessTokenRecords,
    FetchFailed,
    FetchLease,
    TokenFound,
)

log = logging.getLogger("callout.engine")

REFRESH_MARGIN = 60.0
"""Seconds before a token expires from which it is no longer handed out (a request that
leaves with it must not arrive after it expired); at most half the token's lifetime."""

MAX_KEPT_LIFETIME = 24 * 3600.0
"""The longest a token is kept, whatever `expires_in` says: a day."""

LEASE_EXTRA = 5.0
"""Seconds a fetch lease outlasts the fetch's own timeout (time to store the token)."""

MIN_FETCH_SECONDS = 1.0
"""The least time a fetch is given after waiting for another worker's."""

POLL_FIRST = 0.02
POLL_CAP = 0.25
"""Seconds between looks at the store while another worker fetches: doubling, capped."""

MAX_KEPT_TOKENS = 10_000
"""Tokens one process keeps in memory; past this, stale ones go, then the oldest."""

_KEY_CONTEXT = b"callout/oauth2-access-token-key"


def fresh_for(lifetime: float) -> float:
    """Return the seconds a token that lives `lifetime` seconds is handed out."""
    kept = min(max(lifetime, 0.0), MAX_KEPT_LIFETIME)
    return max(0.0, kept - min(REFRESH_MARGIN, kept / 2))


@dataclass(frozen=True, slots=True)
class _Kept:
    token: str = field(repr=False)
    until: float  # on this process's monotonic clock


class AccessTokens:
    """One process's access tokens: a cache in front of the store and the token endpoints.

    Without `records` and `cipher` (no service store, or no operator key) tokens are
    kept in this process only. `monotonic` is the clock freshness is judged by (tests).
    """

    def __init__(
        self,
        transport: Transport,
        *,
        records: AccessTokenRecords | None = None,
        cipher: SecretCipher | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._transport = transport
        self._shared = (records, cipher) if records is not None and cipher is not None else None
        # The store's keys must agree between processes (the operator's key); in memory only,
        # a key of this process's own keeps the credentials out of any readable form.
        self._key = (
            hmac.new(cipher.key, _KEY_CONTEXT, hashlib.sha256).digest()
            if cipher is not None
            else secrets.token_bytes(32)
        )
        self._monotonic = monotonic
        self._kept: dict[str, _Kept] = {}
        self._pending: dict[str, asyncio.Future[str]] = {}

    def __repr__(self) -> str:
        return f"AccessTokens(kept={len(self._kept)}, shared={self._shared is not None})"

    @property
    def shared(self) -> bool:
        """Whether tokens are shared with other processes through the store."""
        return self._shared is not None

    def for_organization(self, org_id: str | None) -> OrganizationTokens:
        """Return the token source an attempt of `org_id` (None: no organization) uses."""
        return OrganizationTokens(self, org_id)

    def cache_key(self, org_id: str | None, credentials: ClientCredentials) -> str:
        """Return the key tokens for these credentials are kept under (an HMAC, hex)."""
        material = json.dumps(
            [
                org_id,
                credentials.token_url,
                credentials.client_id,
                credentials.client_secret,
                list(credentials.scopes),
                credentials.audience,
                credentials.client_auth,
            ],
            ensure_ascii=True,
            separators=(",", ":"),
        )
        return hmac.new(self._key, material.encode(), hashlib.sha256).hexdigest()

    async def token(
        self, org_id: str | None, credentials: ClientCredentials, *, refused: str | None = None
    ) -> str:
        """Return a fresh access token for `credentials` in `org_id`; raise `TokenError`."""
        key = self.cache_key(org_id, credentials)
        token = ""
        # Twice at most: a fetch already underway when the token was refused may bring
        # back that very token; then one more is asked for, refusing it.
        for _ in range(2):
            kept = self._kept.get(key)
            if kept is not None:
                if kept.token != refused and self._monotonic() < kept.until:
                    return kept.token
                del self._kept[key]  # stale, or refused while it is still the one kept
            token = await asyncio.shield(self._pending_fetch(key, org_id, credentials, refused))
            if refused is None or token != refused:
                return token
        return token  # the endpoint gave the refused token again: the step's answer decides

    def _pending_fetch(
        self, key: str, org_id: str | None, credentials: ClientCredentials, refused: str | None
    ) -> asyncio.Future[str]:
        """Return the look-up or fetch of `key` underway in this process, started if none is."""
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._obtain(key, org_id, credentials, refused))
            self._pending[key] = pending

            def done(finished: asyncio.Future[str]) -> None:
                if self._pending.get(key) is finished:
                    del self._pending[key]
                # Every waiter may have gone (cancelled): the error is read here then.
                if not finished.cancelled():
                    finished.exception()

            pending.add_done_callback(done)
        return pending

    async def _obtain(
        self, key: str, org_id: str | None, credentials: ClientCredentials, refused: str | None
    ) -> str:
        deadline = asyncio.get_running_loop().time() + credentials.timeout
        if self._shared is None:
            return await self._fetch_here(key, credentials, deadline)
        records, cipher = self._shared
        try:
            return await self._through_store(
                key,
                org_id,
                credentials,
                refused=refused,
                deadline=deadline,
                records=records,
                cipher=cipher,
            )
        except StoreError as exc:
            # The token endpoint does not need the database: fetch without sharing.
            log.warning("access tokens: the store could not be used (%s); fetching unshared", exc)
            return await self._fetch_here(key, credentials, deadline)

    async def _fetch_here(self, key: str, credentials: ClientCredentials, deadline: float) -> str:
        fetched = await fetch_token(credentials, self._transport, timeout=_left(deadline))
        self._keep(key, fetched.access_token, fresh_for(fetched.expires_in))
        return fetched.access_token

    async def _through_store(  # noqa: PLR0913 - the question and where it is asked
        self,
        key: str,
        org_id: str | None,
        credentials: ClientCredentials,
        *,
        refused: str | None,
        deadline: float,
        records: AccessTokenRecords,
        cipher: SecretCipher,
    ) -> str:
        loop = asyncio.get_running_loop()
        waited_for: str | None = None
        pause = POLL_FIRST
        while True:
            found = await records.look_up(
                cipher,
                key=key,
                org_id=org_id,
                lease_seconds=_left(deadline) + LEASE_EXTRA,
                refused=refused,
                waited_for=waited_for,
            )
            if isinstance(found, TokenFound):
                self._keep(key, found.token, found.fresh_for)
                return found.token
            if isinstance(found, FetchFailed):
                raise TokenError(found.message, retryable=found.retryable)
            if isinstance(found, FetchLease):
                return await self._fetch_under_lease(
                    key,
                    org_id,
                    credentials,
                    lease=found.lease,
                    deadline=deadline,
                    records=records,
                    cipher=cipher,
                )
            waited_for = found.lease
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TokenError(
                    "another worker's fetch of this access token did not end within "
                    f"{credentials.timeout:g} s",
                    retryable=True,
                )
            await asyncio.sleep(max(0.0, min(pause, remaining, found.wait)))
            pause = min(pause * 2, POLL_CAP)

    async def _fetch_under_lease(  # noqa: PLR0913 - the lease and where it is kept
        self,
        key: str,
        org_id: str | None,
        credentials: ClientCredentials,
        *,
        lease: str,
        deadline: float,
        records: AccessTokenRecords,
        cipher: SecretCipher,
    ) -> str:
        try:
            fetched = await fetch_token(credentials, self._transport, timeout=_left(deadline))
        except TokenError as exc:
            # Unrecorded, the lease runs out on its own; the waiters then fetch themselves.
            with contextlib.suppress(StoreError):
                await records.record_failure(
                    key=key, lease=lease, message=str(exc), retryable=exc.retryable
                )
            raise
        fresh = fresh_for(fetched.expires_in)
        try:
            await records.store_fetched(
                cipher,
                key=key,
                org_id=org_id,
                lease=lease,
                token=fetched.access_token,
                fresh_for=fresh,
                expires_in=min(fetched.expires_in, MAX_KEPT_LIFETIME),
            )
        except StoreError as exc:
            log.warning("access tokens: a fetched token could not be stored (%s)", exc)
        self._keep(key, fetched.access_token, fresh)
        return fetched.access_token

    def _keep(self, key: str, token: str, seconds: float) -> None:
        if seconds <= 0:
            return  # used by the attempts that asked, never handed out again
        now = self._monotonic()
        if len(self._kept) >= MAX_KEPT_TOKENS and key not in self._kept:
            for stale in [name for name, kept in self._kept.items() if kept.until <= now]:
                del self._kept[stale]
            while len(self._kept) >= MAX_KEPT_TOKENS:
                del self._kept[next(iter(self._kept))]  # the oldest kept
        self._kept[key] = _Kept(token, now + seconds)


@dataclass(frozen=True, slots=True)
class OrganizationTokens:
    """The `TokenSource` of one organization's attempts (None: runs of no organization)."""

    tokens: AccessTokens
    org_id: str | None

    async def token(self, credentials: ClientCredentials, *, refused: str | None = None) -> str:
        """Return a fresh access token; raise `TokenError` when none can be had."""
        return await self.tokens.token(self.org_id, credentials, refused=refused)


def _left(deadline: float) -> float:
    """Seconds a fetch may take: what is left of the deadline, never less than a second."""
    return max(deadline - asyncio.get_running_loop().time(), MIN_FETCH_SECONDS)
