"""Dashboard sessions in the store: opened, checked, ended, crowded out, migrated."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from callout.model.plans import Plan
from callout.store import SqlStore, database_url, open_engine
from callout.store.organizations import create_api_key, create_organization, revoke_api_key
from callout.store.schema import upgrade
from callout.store.sessions import (
    MAX_SESSIONS_PER_KEY,
    NewSession,
    SessionState,
    check_session,
    end_session,
    hash_session_id,
    open_session,
)
from callout.store.tables import dashboard_sessions, metadata
from integration.service_store.seeds import T0

HOUR = 3600.0


async def key_of_new_org(store: SqlStore, name: str = "Acme") -> tuple[str, str]:
    """Return (org id, key id) of a new organization's first key."""
    org, key = await store.write(create_organization, name=name, plan=Plan.GROWTH, now=T0)
    return org.id, key.info.id


async def opened(store: SqlStore, org_id: str, key_id: str, *, now: float = T0) -> NewSession:
    return await store.write(
        open_session, key_id=key_id, org_id=org_id, now=now, lifetime=12 * HOUR
    )


async def state(store: SqlStore, session: NewSession, *, now: float = T0 + 1) -> SessionState:
    return (await store.read(check_session, session_id=session.session_id, now=now)).state


def rows(conn: sa.Connection) -> list[sa.Row[tuple[object, ...]]]:
    return list(conn.execute(sa.select(dashboard_sessions)).all())


async def test_an_open_session_names_its_key_and_organization_until_it_expires(
    store: SqlStore,
) -> None:
    org_id, key_id = await key_of_new_org(store)
    session = await opened(store, org_id, key_id)
    assert session.expires_at == T0 + 12 * HOUR
    assert session.session_id not in repr(session)
    found = await store.read(check_session, session_id=session.session_id, now=T0 + 1)
    assert found.state is SessionState.OPEN
    assert found.caller is not None
    assert (found.caller.org.id, found.caller.org.name, found.caller.key_id) == (
        org_id,
        "Acme",
        key_id,
    )
    assert await state(store, session, now=T0 + 12 * HOUR - 1) is SessionState.OPEN
    expired = await store.read(check_session, session_id=session.session_id, now=T0 + 12 * HOUR)
    assert (expired.state, expired.caller) == (SessionState.EXPIRED, None)


async def test_only_the_sha256_of_a_session_id_is_stored(store: SqlStore) -> None:
    org_id, key_id = await key_of_new_org(store)
    session = await opened(store, org_id, key_id)
    [row] = await store.read(rows)
    assert row.id_hash == hash_session_id(session.session_id)
    assert (row.key_id, row.org_id, row.created_at, row.ended_at) == (key_id, org_id, T0, None)
    assert all(session.session_id not in str(cell) for cell in row)


async def test_an_unknown_session_is_refused(store: SqlStore) -> None:
    found = await store.read(check_session, session_id="no-such-session", now=T0)
    assert (found.state, found.caller) == (SessionState.UNKNOWN, None)


async def test_ending_a_session_ends_that_one_only(store: SqlStore) -> None:
    org_id, key_id = await key_of_new_org(store)
    first, second = await opened(store, org_id, key_id), await opened(store, org_id, key_id)
    assert await store.write(end_session, session_id=first.session_id, now=T0 + 1) is True
    assert await store.write(end_session, session_id=first.session_id, now=T0 + 2) is False
    assert await state(store, first) is SessionState.ENDED
    assert await state(store, second) is SessionState.OPEN


async def test_revoking_a_key_ends_its_sessions_and_no_others(store: SqlStore) -> None:
    org_id, key_id = await key_of_new_org(store)
    other = await store.write(create_api_key, org_id=org_id, name="other", now=T0)
    mine, theirs = await opened(store, org_id, key_id), await opened(store, org_id, other.info.id)
    await store.write(revoke_api_key, key_id=key_id, now=T0 + 5)
    assert await state(store, mine, now=T0 + 6) is SessionState.ENDED
    assert await state(store, theirs, now=T0 + 6) is SessionState.OPEN
    ended = {row.key_id: row.ended_at for row in await store.read(rows)}
    assert ended == {key_id: T0 + 5, other.info.id: None}


async def test_signing_in_removes_expired_sessions_of_every_key(store: SqlStore) -> None:
    acme_org, acme_key = await key_of_new_org(store, "Acme")
    bravo_org, bravo_key = await key_of_new_org(store, "Bravo")
    old = await opened(store, acme_org, acme_key, now=T0)
    later = T0 + 13 * HOUR
    await opened(store, bravo_org, bravo_key, now=later)
    assert [row.key_id for row in await store.read(rows)] == [bravo_key]
    assert await state(store, old, now=later) is SessionState.UNKNOWN


async def test_a_key_keeps_at_most_its_newest_sessions_dropping_ended_ones_first(
    store: SqlStore,
) -> None:
    org_id, key_id = await key_of_new_org(store)
    sessions = [
        await opened(store, org_id, key_id, now=T0 + n) for n in range(MAX_SESSIONS_PER_KEY)
    ]
    ended = sessions[10]
    await store.write(end_session, session_id=ended.session_id, now=T0 + 100)
    newest = await opened(store, org_id, key_id, now=T0 + 200)  # one too many: the ended one goes
    assert await state(store, ended, now=T0 + 201) is SessionState.UNKNOWN
    assert await state(store, sessions[0], now=T0 + 201) is SessionState.OPEN
    await opened(store, org_id, key_id, now=T0 + 300)  # now the oldest open one goes
    assert await state(store, sessions[0], now=T0 + 301) is SessionState.UNKNOWN
    assert await state(store, sessions[1], now=T0 + 301) is SessionState.OPEN
    assert await state(store, newest, now=T0 + 301) is SessionState.OPEN
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
