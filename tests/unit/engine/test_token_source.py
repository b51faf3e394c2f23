"""`AccessTokens`: one fetch serves many attempts, here and across processes sharing a store.

Each `AccessTokens` plays one process; two of them on one `MemoryStore` play two
workers on one database. The token endpoint is a `MockTransport` handing out
`token-1`, `token-2`, ... and counting; one manual clock plays both the store's
(the database's) clock and the processes' monotonic clocks.
tests/integration/step/test_oauth2_tokens.py does the same on real HTTPS and SQL.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Awaitable
from typing import Any

import pytest

from callout.engine.token_source import (
    MAX_KEPT_LIFETIME,
    REFRESH_MARGIN,
    AccessTokens,
    fresh_for,
)
from callout.http import InboundResponse, OutboundRequest
from callout.http.testing import MockTransport
from callout.model.clock import ManualClock
from callout.model.errors import TokenError
from callout.steps.tokens import ClientCredentials
from callout.store.encryption import SecretCipher
from callout.store.memory import MemoryStore
from callout.store.memory_tokens import MemoryAccessTokens
from callout.store.protocol import StoreUnavailable
from callout.store.token_records import TokenLookup

SECRET = "client-secret-distinctive-77a1"
ORG = "org_ACME"


def credentials(**changes: Any) -> ClientCredentials:
    values: dict[str, Any] = {
        "token_url": "https://auth.example.com/oauth/token",
        "client_id": "my-client",
        "client_secret": SECRET,
        "scopes": ("read", "write"),
        "audience": "https://api.example.com",
    }
    return ClientCredentials(**(values | changes))


class TokenEndpoint:
    """Answers each token request with the next token (`token-1`, ...), or as scripted."""

    def __init__(self, *, expires_in: float | None = 3600.0) -> None:
        self.expires_in = expires_in
        self.gate: asyncio.Event | None = None
        self.failure: tuple[int, dict[str, Any]] | None = None
        self.transport = MockTransport(self._answer)

    @property
    def fetches(self) -> int:
        return len(self.transport.requests)

    def hold(self) -> asyncio.Event:
        """Hold every answer until the returned event is set."""
        self.gate = asyncio.Event()
        return self.gate

    async def _answer(self, _: OutboundRequest) -> InboundResponse:
        number = self.fetches - 1  # this request is counted already
        if self.gate is not None:
            await self.gate.wait()
        if self.failure is not None:
            status, body = self.failure
            return InboundResponse(status=status, body=json.dumps(body).encode())
        body = {"access_token": f"token-{number}", "token_type": "bearer"}
        if self.expires_in is not None:
            body["expires_in"] = self.expires_in
        return InboundResponse(status=200, body=json.dumps(body).encode())


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def cipher() -> SecretCipher:
    return SecretCipher(secrets.token_bytes(32))


@pytest.fixture
def store(clock: ManualClock) -> MemoryStore:
    return MemoryStore(clock=clock)


@pytest.fixture
def endpoint() -> TokenEndpoint:
    return TokenEndpoint()


def process(
    endpoint: TokenEndpoint, store: MemoryStore, cipher: SecretCipher, clock: ManualClock
) -> AccessTokens:
    """One process's tokens, shared through `store`."""
    return AccessTokens(
        endpoint.transport, records=store.tokens, cipher=cipher, monotonic=clock.now
    )


@pytest.fixture
def tokens(
    endpoint: TokenEndpoint, store: MemoryStore, cipher: SecretCipher, clock: ManualClock
) -> AccessTokens:
    return process(endpoint, store, cipher, clock)


async def started(call: Awaitable[str]) -> asyncio.Task[str]:
    task = asyncio.ensure_future(call)
    for _ in range(20):
        await asyncio.sleep(0)  # let it reach the store and the endpoint
    return task


# --- one process -------------------------------------------------------------


async def test_one_fetch_serves_many_attempts_asking_at_once(
    tokens: AccessTokens, endpoint: TokenEndpoint
) -> None:
    gate = endpoint.hold()
    asking = [await started(tokens.token(ORG, credentials())) for _ in range(25)]
    gate.set()
    assert set(await asyncio.gather(*asking)) == {"token-0"}
    assert endpoint.fetches == 1


async def test_a_kept_token_is_handed_out_until_the_margin_before_it_expires(
    tokens: AccessTokens, endpoint: TokenEndpoint, clock: ManualClock
) -> None:
    assert await tokens.token(ORG, credentials()) == "token-0"
    clock.advance(3600 - REFRESH_MARGIN - 1)
    assert await tokens.token(ORG, credentials()) == "token-0"
    assert endpoint.fetches == 1
    clock.advance(1)
    assert await tokens.token(ORG, credentials()) == "token-1"
    assert endpoint.fetches == 2


async def test_a_short_lived_token_is_kept_for_half_its_life(
    store: MemoryStore, cipher: SecretCipher, clock: ManualClock
) -> None:
    endpoint = TokenEndpoint(expires_in=20)
    tokens = process(endpoint, store, cipher, clock)
    await tokens.token(ORG, credentials())
    clock.advance(9.9)
    await tokens.token(ORG, credentials())
    clock.advance(0.1)
    await tokens.token(ORG, credentials())
    assert endpoint.fetches == 2


async def test_a_token_that_expires_at_once_is_used_once_and_never_kept(
    store: MemoryStore, cipher: SecretCipher, clock: ManualClock
) -> None:
    endpoint = TokenEndpoint(expires_in=0)
    tokens = process(endpoint, store, cipher, clock)
    assert [await tokens.token(ORG, credentials()) for _ in range(3)] == [
        "token-0",
        "token-1",
        "token-2",
    ]


def test_how_long_a_token_is_handed_out() -> None:
    assert fresh_for(3600) == 3600 - REFRESH_MARGIN
    assert fresh_for(60) == 30
    assert fresh_for(1) == 0.5
    assert fresh_for(0) == 0
    assert fresh_for(-5) == 0
    assert fresh_for(10 * MAX_KEPT_LIFETIME) == MAX_KEPT_LIFETIME - REFRESH_MARGIN


async def test_a_refused_token_is_fetched_again_once(
    tokens: AccessTokens, endpoint: TokenEndpoint
) -> None:
    first = await tokens.token(ORG, credentials())
    assert await tokens.token(ORG, credentials(), refused=first) == "token-1"
    # Another attempt refusing the same (already replaced) token gets the replacement.
    assert await tokens.token(ORG, credentials(), refused=first) == "token-1"
    assert await tokens.token(ORG, credentials()) == "token-1"
    assert endpoint.fetches == 2


async def test_many_attempts_refusing_one_token_at_once_cause_one_fetch(
    tokens: AccessTokens, endpoint: TokenEndpoint
) -> None:
    first = await tokens.token(ORG, credentials())
    gate = endpoint.hold()
    asking = [await started(tokens.token(ORG, credentials(), refused=first)) for _ in range(10)]
    gate.set()
    assert set(await asyncio.gather(*asking)) == {"token-1"}
    assert endpoint.fetches == 2


class GatedRecords:
    """The store's token records, each look-up held until `gate` is set."""

    def __init__(self, inner: MemoryAccessTokens) -> None:
        self.inner = inner
        self.gate = asyncio.Event()

    async def look_up(self, *args: Any, **kwargs: Any) -> TokenLookup:
        await self.gate.wait()
        return await self.inner.look_up(*args, **kwargs)

    async def store_fetched(self, *args: Any, **kwargs: Any) -> bool:
        return await self.inner.store_fetched(*args, **kwargs)

    async def record_failure(self, **kwargs: Any) -> None:
        await self.inner.record_failure(**kwargs)


async def test_a_refusal_joining_a_read_of_that_very_token_asks_once_more(
    endpoint: TokenEndpoint, store: MemoryStore, cipher: SecretCipher, clock: ManualClock
) -> None:
    # Another process stored token-0; this one starts reading it from the store, and an
    # attempt refusing token-0 joins that read before it ends.
    assert await process(endpoint, store, cipher, clock).token(ORG, credentials()) == "token-0"
    records = GatedRecords(store.tokens)
    tokens = AccessTokens(endpoint.transport, records=records, cipher=cipher, monotonic=clock.now)
    reading = await started(tokens.token(ORG, credentials()))
    refusing = await started(tokens.token(ORG, credentials(), refused="token-0"))
    records.gate.set()
    assert await reading == "token-0"
    assert await refusing == "token-1"
    assert endpoint.fetches == 2


async def test_organizations_do_not_share_tokens(
    tokens: AccessTokens, endpoint: TokenEndpoint
) -> None:
    assert await tokens.token("org_A", credentials()) == "token-0"
    assert await tokens.token("org_B", credentials()) == "token-1"
    assert await tokens.token(None, credentials()) == "token-2"
    assert await tokens.for_organization("org_A").token(credentials()) == "token-0"
    assert endpoint.fetches == 3


@pytest.mark.parametrize(
    "change",
    [
        {"token_url": "https://auth.example.com/other"},
        {"client_id": "another-client"},
        {"client_secret": "a-rotated-secret"},
        {"scopes": ("read",)},
        {"scopes": ("write", "read")},
        {"audience": None},
        {"client_auth": "body"},
    ],
)
def test_every_credential_field_is_part_of_the_key_but_the_timeout_is_not(
    tokens: AccessTokens, change: dict[str, Any]
) -> None:
    key = tokens.cache_key(ORG, credentials())
    assert tokens.cache_key(ORG, credentials(**change)) != key
    assert tokens.cache_key(ORG, credentials(timeout=5.0)) == key
    assert SECRET not in key


def test_processes_with_one_operator_key_agree_on_keys_and_others_do_not(
    endpoint: TokenEndpoint, store: MemoryStore, cipher: SecretCipher, clock: ManualClock
) -> None:
    one = process(endpoint, store, cipher, clock)
    two = process(endpoint, store, cipher, clock)
    stranger = process(endpoint, store, SecretCipher(secrets.token_bytes(32)), clock)
    alone = AccessTokens(endpoint.transport)
    key = one.cache_key(ORG, credentials())
    assert two.cache_key(ORG, credentials()) == key
    assert stranger.cache_key(ORG, credentials()) != key
    assert alone.cache_key(ORG, credentials()) != key


async def test_a_failed_fetch_is_not_kept_the_next_attempt_fetches_again(
    tokens: AccessTokens, endpoint: TokenEndpoint
) -> None:
    endpoint.failure = (503, {})
    with pytest.raises(TokenError) as caught:
        await tokens.token(ORG, credentials())
    assert caught.value.retryable
    endpoint.failure = None
    assert await tokens.token(ORG, credentials()) == "token-1"


async def test_one_waiter_cancelled_does_not_cancel_the_fetch_of_the_others(
    tokens: AccessTokens, endpoint: TokenEndpoint
) -> None:
    gate = endpoint.hold()
    leaving = await started(tokens.token(ORG, credentials()))
    staying = await started(tokens.token(ORG, credentials()))
    leaving.cancel()
    gate.set()
    assert await staying == "token-0"
    assert endpoint.fetches == 1


async def test_without_a_store_attempts_asking_at_once_still_share_one_fetch(
    endpoint: TokenEndpoint,
) -> None:
    tokens = AccessTokens(endpoint.transport)
    gate = endpoint.hold()
    asking = [await started(tokens.token(ORG, credentials())) for _ in range(25)]
    gate.set()
    assert set(await asyncio.gather(*asking)) == {"token-0"}
    assert endpoint.fetches == 1


async def test_without_a_store_tokens_are_kept_in_this_process(endpoint: TokenEndpoint) -> None:
    tokens = AccessTokens(endpoint.transport)
    assert not tokens.shared
    assert [await tokens.token(None, credentials()) for _ in range(3)] == ["token-0"] * 3
    assert endpoint.fetches == 1


def test_no_repr_shows_a_token(tokens: AccessTokens) -> None:
    assert repr(tokens) == "AccessTokens(kept=0, shared=True)"


# --- processes sharing a store -----------------------------------------------


async def test_a_token_fetched_by_one_process_is_read_by_another(
    endpoint: TokenEndpoint, store: MemoryStore, cipher: SecretCipher, clock: ManualClock
) -> None:
    one, two = process(endpoint, store, cipher, clock), process(endpoint, store, cipher, clock)
    assert await one.token(ORG, credentials()) == "token-0"
    assert await two.token(ORG, credentials()) == "token-0"
    assert endpoint.fetches == 1


async def test_processes_asking_at_once_make_one_fetch(
    endpoint: TokenEndpoint, store: MemoryStore, cipher: SecretCipher, clock: ManualClock
) -> None:
    processes = [process(endpoint, store, cipher, clock) for _ in range(5)]
    gate = endpoint.hold()
    asking = [await started(each.token(ORG, credentials())) for each in processes]
    assert endpoint.fetches == 1
    gate.set()
    assert set(await asyncio.gather(*asking)) == {"token-0"}
    assert endpoint.fetches == 1


async def test_those_who_waited_for_a_failed_fetch_get_its_error_without_fetching(
    endpoint: TokenEndpoint, store: MemoryStore, cipher: SecretCipher, clock: ManualClock
) -> None:
    one, two = process(endpoint, store, cipher, clock), process(endpoint, store, cipher, clock)
    endpoint.failure = (401, {"error": "invalid_client"})
    gate = endpoint.hold()
    fetching = await started(one.token(ORG, credentials()))
    waiting = await started(two.token(ORG, credentials()))
    gate.set()
    errors = []
    for task in (fetching, waiting):
        with pytest.raises(TokenError) as caught:
            await task
        errors.append((str(caught.value), caught.value.retryable))
    assert (
        errors == [("the token endpoint auth.example.com answered 401 (invalid_client)", False)] * 2
    )
    assert endpoint.fetches == 1


async def test_a_refusal_in_one_process_reaches_the_others_through_the_store(
    endpoint: TokenEndpoint, store: MemoryStore, cipher: SecretCipher, clock: ManualClock
) -> None:
    one, two = process(endpoint, store, cipher, clock), process(endpoint, store, cipher, clock)
    first = await one.token(ORG, credentials())
    assert await two.token(ORG, credentials()) == first
    assert await one.token(ORG, credentials(), refused=first) == "token-1"
    # Process two still keeps token-0 in memory; refused there too, it reads token-1.
    assert await two.token(ORG, credentials(), refused=first) == "token-1"
    assert endpoint.fetches == 2


@pytest.mark.realclock
async def test_a_waiter_gives_up_retryably_when_the_other_fetch_never_ends(
    endpoint: TokenEndpoint, store: MemoryStore, cipher: SecretCipher
) -> None:
    # Real time: the wait is bounded by the credentials' timeout on the running loop.
    one = AccessTokens(endpoint.transport, records=store.tokens, cipher=cipher)
    two = AccessTokens(endpoint.transport, records=store.tokens, cipher=cipher)
    endpoint.hold()  # never set: the first fetch hangs
    hanging = await started(one.token(ORG, credentials(timeout=0.2)))
    with pytest.raises(TokenError) as caught:
        await two.token(ORG, credentials(timeout=0.2))
    assert str(caught.value) == (
        "another worker's fetch of this access token did not end within 0.2 s"
    )
    assert caught.value.retryable
    assert endpoint.fetches == 1
    hanging.cancel()


class UnavailableTokens:
    """Token records whose database is out of reach."""

    def __init__(self) -> None:
        self.asked = 0

    async def look_up(self, *_: Any, **__: Any) -> TokenLookup:
        self.asked += 1
        raise StoreUnavailable("the database is unavailable: connection refused")

    async def store_fetched(self, *_: Any, **__: Any) -> bool:
        raise AssertionError("never reached")

    async def record_failure(self, **_: Any) -> None:
        raise AssertionError("never reached")


async def test_a_store_out_of_reach_does_not_fail_the_attempt_the_token_is_fetched_unshared(
    endpoint: TokenEndpoint, cipher: SecretCipher, caplog: pytest.LogCaptureFixture
) -> None:
    records = UnavailableTokens()
    tokens = AccessTokens(endpoint.transport, records=records, cipher=cipher)
    assert await tokens.token(ORG, credentials()) == "token-0"
    assert await tokens.token(ORG, credentials()) == "token-0"  # kept in this process
    assert (records.asked, endpoint.fetches) == (1, 1)
    assert "fetching unshared" in caplog.text
    assert SECRET not in caplog.text


async def test_the_store_keeps_the_token_encrypted(
    tokens: AccessTokens, store: MemoryStore
) -> None:
    token = await tokens.token(ORG, credentials())
    stored = store.tokens.stored_form(tokens.cache_key(ORG, credentials()))
    assert stored is not None
    assert token not in stored
