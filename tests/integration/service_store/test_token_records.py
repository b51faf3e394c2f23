"""OAuth2 access token records: the database decides who fetches; tokens are kept encrypted.

On SQLite, PostgreSQL and in memory (`service_store`), the store's clock (the
database's) standing at T0 and moved by the test (`db_clock`).
"""

from __future__ import annotations

import asyncio
import secrets as random_bytes

import sqlalchemy as sa

from callout.model.clock import ManualClock
from callout.store.account_records import Organization
from callout.store.encryption import SecretCipher
from callout.store.memory import MemoryStore
from callout.store.service import ServiceStore
from callout.store.sql_store import SqlStore
from callout.store.tables import access_tokens
from callout.store.token_records import (
    FORGOTTEN_AFTER,
    FetchFailed,
    FetchLease,
    FetchUnderway,
    TokenFound,
    TokenLookup,
)

KEY = "a" * 64
OTHER_KEY = "b" * 64
TOKEN = "eyJ-first-distinctive-access-token-5d1f"
NEXT_TOKEN = "eyJ-next-distinctive-access-token-93ae"
LEASE = 30.0


async def ask(
    store: ServiceStore,
    cipher: SecretCipher,
    org: Organization | None,
    *,
    key: str = KEY,
    refused: str | None = None,
    waited_for: str | None = None,
) -> TokenLookup:
    return await store.tokens.look_up(
        cipher,
        key=key,
        org_id=org.id if org is not None else None,
        lease_seconds=LEASE,
        refused=refused,
        waited_for=waited_for,
    )


async def lease_of(
    store: ServiceStore, cipher: SecretCipher, org: Organization | None, **options: str
) -> str:
    found = await ask(store, cipher, org, **options)
    assert isinstance(found, FetchLease), found
    return found.lease


async def keep(
    store: ServiceStore,
    cipher: SecretCipher,
    org: Organization | None,
    lease: str,
    token: str = TOKEN,
    *,
    fresh_for: float = 3540.0,
    key: str = KEY,
) -> bool:
    return await store.tokens.store_fetched(
        cipher,
        key=key,
        org_id=org.id if org is not None else None,
        lease=lease,
        token=token,
        fresh_for=fresh_for,
        expires_in=fresh_for + 60,
    )


async def fetched(
    store: ServiceStore,
    cipher: SecretCipher,
    org: Organization | None,
    token: str = TOKEN,
    *,
    key: str = KEY,
) -> None:
    """Take the lease and store `token` under it, as the caller that fetches does."""
    lease = await lease_of(store, cipher, org, key=key)
    assert await keep(store, cipher, org, lease, token, key=key)


async def token_of(
    store: ServiceStore, cipher: SecretCipher, org: Organization | None, **options: str
) -> str:
    found = await ask(store, cipher, org, **options)
    assert isinstance(found, TokenFound), found
    return found.token


async def test_the_first_caller_gets_the_lease_and_the_next_is_told_it_is_underway(
    service_store: ServiceStore, cipher: SecretCipher, acme: Organization, db_clock: ManualClock
) -> None:
    lease = await lease_of(service_store, cipher, acme)
    db_clock.advance(10)
    second = await ask(service_store, cipher, acme)
    assert second == FetchUnderway(lease=lease, wait=LEASE - 10)


async def test_a_stored_token_is_found_fresh_for_what_remains_of_its_time(
    service_store: ServiceStore, cipher: SecretCipher, acme: Organization, db_clock: ManualClock
) -> None:
    lease = await lease_of(service_store, cipher, acme)
    assert await keep(service_store, cipher, acme, lease, fresh_for=100.0)
    db_clock.advance(40)
    found = await ask(service_store, cipher, acme)
    assert found == TokenFound(token=TOKEN, fresh_for=60.0)
    assert TOKEN not in repr(found)


async def test_a_token_past_its_refresh_time_is_fetched_again_under_a_new_lease(
    service_store: ServiceStore, cipher: SecretCipher, acme: Organization, db_clock: ManualClock
) -> None:
    first = await lease_of(service_store, cipher, acme)
    await keep(service_store, cipher, acme, first, fresh_for=100.0)
    db_clock.advance(100)
    second = await lease_of(service_store, cipher, acme)
    assert second != first


async def test_a_lease_that_ran_out_is_taken_over_and_the_late_fetcher_stores_nothing(
    service_store: ServiceStore, cipher: SecretCipher, acme: Organization, db_clock: ManualClock
) -> None:
    dead = await lease_of(service_store, cipher, acme)
    db_clock.advance(LEASE + 1)
    taker = await lease_of(service_store, cipher, acme)
    assert not await keep(service_store, cipher, acme, dead, "late-token")
    assert await ask(service_store, cipher, acme) == FetchUnderway(lease=taker, wait=LEASE)
    assert await keep(service_store, cipher, acme, taker, NEXT_TOKEN)
    assert await token_of(service_store, cipher, acme) == NEXT_TOKEN


async def test_a_refused_token_is_dropped_and_the_others_wait_for_its_replacement(
    service_store: ServiceStore, cipher: SecretCipher, acme: Organization
) -> None:
    await fetched(service_store, cipher, acme)
    replacing = await lease_of(service_store, cipher, acme, refused=TOKEN)
    # Nobody is handed the refused token again, even without saying they refuse it.
    assert await ask(service_store, cipher, acme) == FetchUnderway(lease=replacing, wait=LEASE)
    await keep(service_store, cipher, acme, replacing, NEXT_TOKEN)
    assert await token_of(service_store, cipher, acme, refused=TOKEN) == NEXT_TOKEN


async def test_refusing_a_token_already_replaced_gets_the_replacement_without_a_lease(
    service_store: ServiceStore, cipher: SecretCipher, acme: Organization
) -> None:
    await fetched(service_store, cipher, acme, NEXT_TOKEN)
    assert await token_of(service_store, cipher, acme, refused="an-older-token") == NEXT_TOKEN


async def test_the_callers_that_waited_for_a_failed_fetch_are_told_its_failure(
    service_store: ServiceStore, cipher: SecretCipher, acme: Organization
) -> None:
    lease = await lease_of(service_store, cipher, acme)
    await service_store.tokens.record_failure(
        key=KEY,
        lease=lease,
        message="the token endpoint answered 401 (invalid_client)",
        retryable=False,
    )
    waited = await ask(service_store, cipher, acme, waited_for=lease)
    assert waited == FetchFailed(
        message="the token endpoint answered 401 (invalid_client)", retryable=False
    )
    # A caller that did not wait for that fetch fetches anew.
    assert isinstance(await ask(service_store, cipher, acme), FetchLease)


async def test_a_failure_recorded_under_a_lease_no_longer_current_changes_nothing(
    service_store: ServiceStore, cipher: SecretCipher, acme: Organization, db_clock: ManualClock
) -> None:
    dead = await lease_of(service_store, cipher, acme)
    db_clock.advance(LEASE + 1)
    taker = await lease_of(service_store, cipher, acme)
    await service_store.tokens.record_failure(
        key=KEY, lease=dead, message="late failure", retryable=True
    )
    assert await ask(service_store, cipher, acme, waited_for=dead) == FetchUnderway(
        lease=taker, wait=LEASE
    )


async def test_tokens_are_kept_apart_by_key(
    service_store: ServiceStore, cipher: SecretCipher, acme: Organization, bravo: Organization
) -> None:
    await fetched(service_store, cipher, acme)
    await fetched(service_store, cipher, bravo, NEXT_TOKEN, key=OTHER_KEY)
    mine = await token_of(service_store, cipher, acme)
    theirs = await token_of(service_store, cipher, bravo, key=OTHER_KEY)
    assert (mine, theirs) == (TOKEN, NEXT_TOKEN)


async def test_a_run_of_no_organization_keeps_its_token_too(
    service_store: ServiceStore, cipher: SecretCipher
) -> None:
    await fetched(service_store, cipher, None)
    assert await token_of(service_store, cipher, None) == TOKEN


async def test_a_token_stored_under_another_key_counts_as_absent(
    service_store: ServiceStore, cipher: SecretCipher, acme: Organization
) -> None:
    await fetched(service_store, cipher, acme)
    stranger = SecretCipher(random_bytes.token_bytes(32))
    assert isinstance(await ask(service_store, stranger, acme), FetchLease)


async def test_records_unused_for_a_day_are_forgotten_when_a_token_is_stored(
    service_store: ServiceStore, cipher: SecretCipher, acme: Organization, db_clock: ManualClock
) -> None:
    old = await lease_of(service_store, cipher, acme, key=OTHER_KEY)
    await keep(service_store, cipher, acme, old, key=OTHER_KEY, fresh_for=60.0)
    db_clock.advance(FORGOTTEN_AFTER + 61)
    await fetched(service_store, cipher, acme)
    # The old record is gone: its stale lease cannot store anything any more.
    assert not await keep(service_store, cipher, acme, old, key=OTHER_KEY)


async def test_concurrent_look_ups_give_exactly_one_lease(
    service_store: ServiceStore, cipher: SecretCipher, acme: Organization
) -> None:
    answers = await asyncio.gather(*(ask(service_store, cipher, acme) for _ in range(12)))
    leases = [found for found in answers if isinstance(found, FetchLease)]
    assert len(leases) == 1
    others = [found for found in answers if not isinstance(found, FetchLease)]
    assert {(type(found), getattr(found, "lease", None)) for found in others} == {
        (FetchUnderway, leases[0].lease)
    }


def raw_tokens(conn: sa.Connection) -> list[str | None]:
    return [row.token for row in conn.execute(sa.select(access_tokens)).all()]


async def test_a_token_is_stored_encrypted_never_in_clear(
    service_store: ServiceStore, cipher: SecretCipher, acme: Organization
) -> None:
    await fetched(service_store, cipher, acme)
    if isinstance(service_store, MemoryStore):
        stored = [service_store.tokens.stored_form(KEY)]
    else:
        assert isinstance(service_store, SqlStore)
        stored = await service_store.read(raw_tokens)
    [sealed] = stored
    assert sealed is not None
    assert TOKEN not in sealed
    assert sealed.startswith(f"v1.{cipher.fingerprint}.")


def migrated_columns(conn: sa.Connection) -> set[str]:
    return {column["name"] for column in sa.inspect(conn).get_columns("access_tokens")}


async def test_the_migration_makes_the_table_as_tables_py_describes_it(store: SqlStore) -> None:
    # Revision 0007 writes the table out in full: its columns must stay those of tables.py.
    assert await store.read(migrated_columns) == {column.name for column in access_tokens.columns}
