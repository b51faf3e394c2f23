"""Dashboard sessions in the store: opened, checked, ended, crowded out, migrated.

The contract runs on SQLite, PostgreSQL and in memory (`service_store`); the
table's rows and its migration are checked on the SQL stores (`store`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from callout.model.plans import Plan
from callout.store.account_keys import hash_session_id
from callout.store.account_records import (
    MAX_SESSIONS_PER_KEY,
    AccountRecords,
    NewSession,
    SessionState,
)
from callout.store.database import database_url, open_engine
from callout.store.schema import upgrade
from callout.store.service import ServiceStore
from callout.store.sql_store import SqlStore
from callout.store.tables import dashboard_sessions, metadata
from integration.service_store.seeds import T0

HOUR = 3600.0


async def key_of_new_org(accounts: AccountRecords, name: str = "Acme") -> tuple[str, str]:
    """Return (org id, key id) of a new organization's first key."""
    org, key = await accounts.create_organization(name=name, plan=Plan.GROWTH, now=T0)
    return org.id, key.info.id


async def opened(
    accounts: AccountRecords, org_id: str, key_id: str, *, now: float = T0
) -> NewSession:
    return await accounts.open_session(key_id=key_id, org_id=org_id, now=now, lifetime=12 * HOUR)


async def state(
    accounts: AccountRecords, session: NewSession, *, now: float = T0 + 1
) -> SessionState:
    return (await accounts.check_session(session_id=session.session_id, now=now)).state


def rows(conn: sa.Connection) -> list[sa.Row[tuple[object, ...]]]:
    return list(conn.execute(sa.select(dashboard_sessions)).all())


async def test_an_open_session_names_its_key_and_organization_until_it_expires(
    service_store: ServiceStore,
) -> None:
    accounts = service_store.accounts
    org_id, key_id = await key_of_new_org(accounts)
    session = await opened(accounts, org_id, key_id)
    assert session.expires_at == T0 + 12 * HOUR
    assert session.session_id not in repr(session)
    found = await accounts.check_session(session_id=session.session_id, now=T0 + 1)
    assert found.state is SessionState.OPEN
    assert found.caller is not None
    assert (found.caller.org.id, found.caller.org.name, found.caller.key_id) == (
        org_id,
        "Acme",
        key_id,
    )
    assert found.caller.org.plan is Plan.GROWTH
    assert await state(accounts, session, now=T0 + 12 * HOUR - 1) is SessionState.OPEN
    expired = await accounts.check_session(session_id=session.session_id, now=T0 + 12 * HOUR)
    assert (expired.state, expired.caller) == (SessionState.EXPIRED, None)


async def test_a_session_shows_its_organizations_plan_and_key_use_as_they_are_now(
    service_store: ServiceStore,
) -> None:
    accounts = service_store.accounts
    org_id, key_id = await key_of_new_org(accounts)
    session = await opened(accounts, org_id, key_id)
    await accounts.set_plan(org_id=org_id, plan=Plan.STARTUP, now=T0 + 1)
    await accounts.mark_key_used(key_id=key_id, now=T0 + 2)
    found = await accounts.check_session(session_id=session.session_id, now=T0 + 3)
    assert found.caller is not None
    assert (found.caller.org.plan, found.caller.last_used_at) == (Plan.STARTUP, T0 + 2)


async def test_only_the_sha256_of_a_session_id_is_stored(store: SqlStore) -> None:
    org_id, key_id = await key_of_new_org(store.accounts)
    session = await opened(store.accounts, org_id, key_id)
    [row] = await store.read(rows)
    assert row.id_hash == hash_session_id(session.session_id)
    assert (row.key_id, row.org_id, row.created_at, row.ended_at) == (key_id, org_id, T0, None)
    assert all(session.session_id not in str(cell) for cell in row)


async def test_an_unknown_session_is_refused(service_store: ServiceStore) -> None:
    found = await service_store.accounts.check_session(session_id="no-such-session", now=T0)
    assert (found.state, found.caller) == (SessionState.UNKNOWN, None)


async def test_ending_a_session_ends_that_one_only(service_store: ServiceStore) -> None:
    accounts = service_store.accounts
    org_id, key_id = await key_of_new_org(accounts)
    first, second = await opened(accounts, org_id, key_id), await opened(accounts, org_id, key_id)
    assert await accounts.end_session(session_id=first.session_id, now=T0 + 1) is True
    assert await accounts.end_session(session_id=first.session_id, now=T0 + 2) is False
    assert await accounts.end_session(session_id="no-such-session", now=T0 + 2) is False
    assert await state(accounts, first) is SessionState.ENDED
    assert await state(accounts, second) is SessionState.OPEN


async def test_revoking_a_key_ends_its_sessions_and_no_others(
    service_store: ServiceStore,
) -> None:
    accounts = service_store.accounts
    org_id, key_id = await key_of_new_org(accounts)
    other = await accounts.create_api_key(org_id=org_id, name="other", now=T0)
    mine = await opened(accounts, org_id, key_id)
    theirs = await opened(accounts, org_id, other.info.id)
    await accounts.revoke_api_key(key_id=key_id, now=T0 + 5)
    assert await state(accounts, mine, now=T0 + 6) is SessionState.ENDED
    assert await state(accounts, theirs, now=T0 + 6) is SessionState.OPEN
    # Ended, not expired: past its lifetime it still reads as ended until removed.
    assert await state(accounts, mine, now=T0 + 13 * HOUR) is SessionState.ENDED


async def test_revoking_a_key_marks_its_session_rows_ended(store: SqlStore) -> None:
    org_id, key_id = await key_of_new_org(store.accounts)
    other = await store.accounts.create_api_key(org_id=org_id, name="other", now=T0)
    await opened(store.accounts, org_id, key_id)
    await opened(store.accounts, org_id, other.info.id)
    await store.accounts.revoke_api_key(key_id=key_id, now=T0 + 5)
    ended = {row.key_id: row.ended_at for row in await store.read(rows)}
    assert ended == {key_id: T0 + 5, other.info.id: None}


async def test_signing_in_removes_expired_sessions_of_every_key(
    service_store: ServiceStore,
) -> None:
    accounts = service_store.accounts
    acme_org, acme_key = await key_of_new_org(accounts, "Acme")
    bravo_org, bravo_key = await key_of_new_org(accounts, "Bravo")
    old = await opened(accounts, acme_org, acme_key, now=T0)
    later = T0 + 13 * HOUR
    assert await state(accounts, old, now=later) is SessionState.EXPIRED
    await opened(accounts, bravo_org, bravo_key, now=later)
    assert await state(accounts, old, now=later) is SessionState.UNKNOWN


async def test_a_key_keeps_at_most_its_newest_sessions_dropping_ended_ones_first(
    service_store: ServiceStore,
) -> None:
    accounts = service_store.accounts
    org_id, key_id = await key_of_new_org(accounts)
    sessions = [
        await opened(accounts, org_id, key_id, now=T0 + n) for n in range(MAX_SESSIONS_PER_KEY)
    ]
    ended = sessions[10]
    await accounts.end_session(session_id=ended.session_id, now=T0 + 100)
    newest = await opened(accounts, org_id, key_id, now=T0 + 200)  # one too many: ended one goes
    assert await state(accounts, ended, now=T0 + 201) is SessionState.UNKNOWN
    assert await state(accounts, sessions[0], now=T0 + 201) is SessionState.OPEN
    last = await opened(accounts, org_id, key_id, now=T0 + 300)  # now the oldest open one goes
    assert await state(accounts, sessions[0], now=T0 + 301) is SessionState.UNKNOWN
    assert await state(accounts, sessions[1], now=T0 + 301) is SessionState.OPEN
    assert await state(accounts, newest, now=T0 + 301) is SessionState.OPEN
    kept = [*sessions[1:10], *sessions[11:], newest, last]
    assert len(kept) == MAX_SESSIONS_PER_KEY
    for session in kept:
        assert await state(accounts, session, now=T0 + 301) is SessionState.OPEN


async def test_the_table_keeps_at_most_a_keys_newest_sessions(store: SqlStore) -> None:
    org_id, key_id = await key_of_new_org(store.accounts)
    for n in range(MAX_SESSIONS_PER_KEY + 3):
        await opened(store.accounts, org_id, key_id, now=T0 + n)
    assert len(await store.read(rows)) == MAX_SESSIONS_PER_KEY


def _sessions_name(name: str | None, type_: str, _parents: object) -> bool:
    return type_ != "table" or name == "dashboard_sessions"


def _sessions_object(item: object, name: str | None, type_: str, *_: object) -> bool:
    table = item if type_ == "table" else getattr(item, "table", None)
    return getattr(table, "name", None) == "dashboard_sessions"


async def test_the_migration_makes_the_table_the_code_describes(db_url: str) -> None:
    engine = open_engine(database_url(db_url))
    try:
        assert await upgrade(engine, "0003") == "0003"  # a database from before sessions
        await upgrade(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "include_name": _sessions_name,
                    "include_object": _sessions_object,
                    "compare_type": True,
                },
            )
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()
