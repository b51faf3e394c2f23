"""Fresh databases for store tests: a SQLite file, or a new PostgreSQL database.

`fresh_database` is empty (for the migration tests); a store opened by `store_of_kind`
starts at the newest schema from support/migrated_databases.py, as if just migrated.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import psycopg
import sqlalchemy as sa

from callout.model.clock import Clock
from callout.store.database import database_url
from callout.store.memory import MemoryStore
from callout.store.sql_store import SqlStore, open_store
from support.migrated_databases import migrated_database
from support.services import skip_or_fail

POSTGRES_ENV = "CALLOUT_TEST_POSTGRES_URL"


def postgres_admin_url() -> str | None:
    """The PostgreSQL URL tests may create databases through, or None."""
    return os.environ.get(POSTGRES_ENV) or None


def _psycopg_dsn(url: str) -> str:
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(url: str, statement: str) -> None:
    conn = await psycopg.AsyncConnection.connect(_psycopg_dsn(url), autocommit=True)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@asynccontextmanager
async def fresh_database(kind: str, tmp_path: Path) -> AsyncIterator[str]:
    """Yield the URL of an empty database of `kind` ("sqlite" or "postgresql"), dropped after."""
    if kind == "sqlite":
        yield str(tmp_path / f"callout-{secrets.token_hex(4)}.db")
        return
    admin = postgres_admin_url()
    if admin is None:
        raise RuntimeError(f"{POSTGRES_ENV} is not set")
    name = f"callout_test_{secrets.token_hex(6)}"
    await _admin(admin, f"CREATE DATABASE {name}")
    try:
        yield sa.make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        for _ in range(20):
            try:
                await _admin(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                break
            except psycopg.OperationalError:
                await asyncio.sleep(0.1)


@asynccontextmanager
async def store_of_kind(
    kind: str, tmp_path: Path, clock: Clock
) -> AsyncIterator[MemoryStore | SqlStore]:
    """A fresh store of `kind` (sqlite, postgresql, memory) whose clock (the database's) is `clock`.

    PostgreSQL skips (or fails under CALLOUT_TEST_REQUIRE_ALL) without a server.
    """
    if kind == "memory":
        yield MemoryStore(clock=clock)
        return
    if kind == "postgresql" and postgres_admin_url() is None:
        skip_or_fail(f"{POSTGRES_ENV} is not set")
    async with migrated_database(kind, tmp_path, admin=postgres_admin_url()) as url:
        real = await open_store(database_url(url), clock=clock)
        try:
            yield real
        finally:
            await real.close()
