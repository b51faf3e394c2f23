"""Databases already at the newest schema, for tests that open a store on a fresh one.

Making a PostgreSQL database and running every migration on it costs about a
second, and dropping it another half; a test that opens a store pays it before
it starts. Here the migrations run once per test session, on a template:

- SQLite: a migrated file, copied to the test's own path.
- PostgreSQL: a migrated template database, copied by `CREATE DATABASE ... TEMPLATE`;
  a database a test is done with is emptied and reused rather than dropped.

A reused database is as fresh as a new one, or it is dropped instead:

- every connection to it is ended (a worker process a test left behind included),
  and it is renamed, so nothing holding the old URL can reach it again;
- its schema (tables, columns, indexes, constraints, triggers, functions,
  sequences, views, the migration revision, database settings) is compared with
  the template's: a test that changed any of it leaves a database that is dropped;
- every row is deleted, sequences restart, and the rows the migrations made
  (the prune lease) are put back as they were.

Tests that need an empty database (the migration tests) keep `fresh_database`.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import secrets
import shutil
import sqlite3
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import sqlalchemy as sa
from psycopg import sql

from callout.store.database import database_url
from callout.store.sql_store import open_store

BUSY_TRIES = 50
"""How often a statement that needs the database to itself is tried (0.1 s apart)."""

SCHEMA = """
SELECT string_agg(item, E'\\n' ORDER BY item) FROM (
  SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' '
         || is_nullable || ' ' || coalesce(column_default, '') AS item
    FROM information_schema.columns WHERE table_schema = 'public'
  UNION ALL SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
  UNION ALL SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' '
         || pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace
  UNION ALL SELECT 'trigger ' || tgrelid::regclass || ' ' || tgname
    FROM pg_trigger WHERE NOT tgisinternal
  UNION ALL SELECT 'function ' || proname FROM pg_proc
    WHERE pronamespace = 'public'::regnamespace
  UNION ALL SELECT 'sequence ' || sequencename FROM pg_sequences WHERE schemaname = 'public'
  UNION ALL SELECT 'view ' || viewname FROM pg_views WHERE schemaname = 'public'
  UNION ALL SELECT 'schema ' || nspname FROM pg_namespace
    WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'
  UNION ALL SELECT 'revision ' || version_num FROM alembic_version
  UNION ALL SELECT 'setting ' || array_to_string(setconfig, ',') FROM pg_db_role_setting
    WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
  UNION ALL SELECT 'prepared ' || gid FROM pg_prepared_xacts
    WHERE database = current_database()
) AS described
"""
"""One text naming everything a test could change about a database but its rows."""


def _url(admin: str, database: str) -> str:
    """The URL of `database` on the admin URL's server, as callout is given it."""
    return sa.make_url(admin).set(database=database).render_as_string(hide_password=False)


def _dsn(url: str, database: str | None = None) -> str:
    made = sa.make_url(url).set(drivername="postgresql")
    if database is not None:
        made = made.set(database=database)
    return made.render_as_string(hide_password=False)


async def _connect(url: str, database: str | None = None) -> psycopg.AsyncConnection:
    return await psycopg.AsyncConnection.connect(_dsn(url, database), autocommit=True)


async def _while_busy(admin: str, statement: str, *, ending_sessions_of: str = "") -> None:
    """Run `statement` on the admin database, again while another session holds its target.

    With `ending_sessions_of`, every session on that database is ended before each try.
    """
    for attempt in range(BUSY_TRIES):
        conn = await _connect(admin)
        try:
            if ending_sessions_of:
                await conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (ending_sessions_of,),
                )
            await conn.execute(statement)
        except psycopg.errors.ObjectInUse:
            if attempt == BUSY_TRIES - 1:
                raise
        else:
            return
        finally:
            await conn.close()
        await asyncio.sleep(0.1)


@dataclass
class _Template:
    """What a migrated database holds before a test: its schema, its tables, its rows."""

    name: str
    schema: str
    tables: list[str]
    sequences: list[str]
    rows: dict[str, list[str]]  # table: each row as JSON


@dataclass
class _PostgresDatabases:
    """The session's template database and the emptied databases ready to hand out."""

    admin: str
    template: _Template | None = None
    ready: list[str] = field(default_factory=list)
    made: set[str] = field(default_factory=set)

    async def _make_template(self) -> _Template:
        name = f"callout_template_{secrets.token_hex(6)}"
        await _while_busy(self.admin, f"CREATE DATABASE {name}")
        self.made.add(name)
        store = await open_store(database_url(_url(self.admin, name)))
        await store.close()
        conn = await _connect(self.admin, name)
        try:
            schema = await _scalar(conn, SCHEMA)
            tables = await _column(
                conn,
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version' ORDER BY tablename",
            )
            sequences = await _column(
                conn, "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"
            )
            rows = {}
            for table in tables:
                found = await _column(
                    conn,
                    sql.SQL("SELECT row_to_json(t)::text FROM {} AS t").format(
                        sql.Identifier(table)
                    ),
                )
                if found:
                    rows[table] = found
        finally:
            await conn.close()
        return _Template(name, schema, tables, sequences, rows)

    async def take(self) -> str:
        """The name of a database at the newest schema, holding only what the migrations made."""
        if self.ready:
            return self.ready.pop()
        if self.template is None:
            self.template = await self._make_template()
        name = f"callout_test_{secrets.token_hex(6)}"
        await _while_busy(self.admin, f"CREATE DATABASE {name} TEMPLATE {self.template.name}")
        self.made.add(name)
        return name

    async def give_back(self, name: str) -> None:
        """Empty `name` for the next test, or drop it when it cannot be made fresh again."""
        fresh = f"callout_test_{secrets.token_hex(6)}"
        try:
            await _while_busy(
                self.admin, f"ALTER DATABASE {name} RENAME TO {fresh}", ending_sessions_of=name
            )
        except psycopg.Error:
            await self._drop(name)
            return
        self.made.discard(name)
        self.made.add(fresh)
        try:
            emptied = await self._emptied(fresh)
        except psycopg.Error:
            emptied = False
        if emptied:
            self.ready.append(fresh)
        else:
            await self._drop(fresh)

    async def _emptied(self, name: str) -> bool:
        """Delete every row a test made; False when the schema is no longer the template's."""
        template = self.template
        assert template is not None
        conn = await _connect(self.admin, name)
        try:
            if await _scalar(conn, SCHEMA) != template.schema:
                return False
            large = []
            async with conn.transaction():
                # Foreign keys are not checked while every table is emptied at once.
                await conn.execute("SET LOCAL session_replication_role = replica")
                for table in template.tables:
                    deleted = await conn.execute(
                        sql.SQL("DELETE FROM {}").format(sql.Identifier(table))
                    )
                    if deleted.rowcount > 1_000:
                        large.append(table)
                for table, rows in template.rows.items():
                    for row in rows:
                        await conn.execute(
                            sql.SQL(
                                "INSERT INTO {0} SELECT * FROM json_populate_record(NULL::{0}, %s)"
                            ).format(sql.Identifier(table)),
                            (row,),
                        )
                for sequence in template.sequences:
                    await conn.execute(
                        sql.SQL("ALTER SEQUENCE {} RESTART").format(sql.Identifier(sequence))
                    )
            for table in large:  # many dead rows would slow the next test's scans
                await conn.execute(sql.SQL("VACUUM {}").format(sql.Identifier(table)))
        finally:
            await conn.close()
        return True

    async def _drop(self, name: str) -> None:
        with contextlib.suppress(psycopg.Error):
            await _while_busy(self.admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self.made.discard(name)

    def drop_all(self) -> None:
        """Drop the template and every database still made (at the end of the session)."""
        with (
            contextlib.suppress(psycopg.Error),
            psycopg.connect(_dsn(self.admin), autocommit=True) as conn,
        ):
            for name in sorted(self.made):
                with contextlib.suppress(psycopg.Error):
                    conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self.made.clear()
        self.ready.clear()


async def _scalar(conn: psycopg.AsyncConnection, query: str | sql.Composed) -> str:
    cursor = await conn.execute(query)
    found = await cursor.fetchone()
    assert found is not None
    return str(found[0])


async def _column(conn: psycopg.AsyncConnection, query: str | sql.Composed) -> list[str]:
    cursor = await conn.execute(query)
    return [str(row[0]) for row in await cursor.fetchall()]


@dataclass
class _SqliteTemplate:
    """A migrated SQLite file of this session, copied for each test that asks."""

    path: Path | None = None

    async def copy_to(self, target: Path) -> None:
        if self.path is None:
            folder = Path(tempfile.mkdtemp(prefix="callout-template-"))
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            path = folder / "callout.db"
            store = await open_store(database_url(str(path)))
            await store.close()
            # One self-contained file: what is still in the write-ahead log goes in it.
            conn = sqlite3.connect(path)
            try:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                conn.close()
            wal = path.with_name(path.name + "-wal")
            assert not wal.exists() or wal.stat().st_size == 0, "the template is not one file"
            self.path = path
        await asyncio.to_thread(shutil.copyfile, self.path, target)


_sqlite = _SqliteTemplate()


@functools.cache
def _postgres_databases(admin: str) -> _PostgresDatabases:
    """This session's databases on the server at `admin`, dropped when the session ends."""
    databases = _PostgresDatabases(admin)
    atexit.register(databases.drop_all)
    return databases


async def migrated_sqlite_file(path: Path) -> None:
    """Put a SQLite file at the newest schema at `path`, as if a store had just made it there."""
    await _sqlite.copy_to(path)


@asynccontextmanager
async def migrated_database(kind: str, tmp_path: Path, *, admin: str | None) -> AsyncIterator[str]:
    """Yield the URL of a database of `kind` at the newest schema, as a fresh one migrated.

    `kind` is "sqlite" (a file in `tmp_path`) or "postgresql" (on the server at `admin`).
    """
    if kind == "sqlite":
        path = tmp_path / f"callout-{secrets.token_hex(4)}.db"
        await _sqlite.copy_to(path)
        yield str(path)
        return
    if admin is None:
        raise RuntimeError("no PostgreSQL server to make the database on")
    databases = _postgres_databases(admin)
    name = await databases.take()
    try:
        yield _url(admin, name)
    finally:
        await databases.give_back(name)
