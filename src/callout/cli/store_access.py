"""Open the store for a command: the database from `--database` or `CALLOUT_DATABASE_URL`.

The schema is brought up to date on open, so a fresh machine needs no step
of its own; a database from a newer callout is refused with a clear message.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import click
import psycopg
import sqlalchemy.exc

from callout.store.database import DatabaseUrl, database_url
from callout.store.driver_errors import unavailable
from callout.store.outage import StoreOutage
from callout.store.schema import SchemaTooNewError
from callout.store.sql_store import SqlStore, open_store

EXIT_STORE = 2

database_option = click.option(
    "--database",
    metavar="URL",
    envvar="CALLOUT_DATABASE_URL",
    help="Where runs are recorded: a SQLite file (default ./callout.db) or postgresql://... "
    "[env: CALLOUT_DATABASE_URL]",
)


@asynccontextmanager
async def opened_store(
    database: str | None, *, ride_out: StoreOutage | None = None
) -> AsyncIterator[SqlStore]:
    """Open (and upgrade) the store; exit 2 with a clear message when that fails.

    With `ride_out` (a worker), a database out of reach (locked, restarting) is waited
    for on its backoff, logged once, instead of ending the process.
    """
    try:
        url = database_url(database)
    except ValueError as exc:
        click.echo(str(exc), err=True)
        sys.exit(EXIT_STORE)
    try:
        store = await _open(url, ride_out)
    except SchemaTooNewError as exc:
        click.echo(str(exc), err=True)
        sys.exit(EXIT_STORE)
    except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError, OSError) as exc:
        reason = getattr(exc, "orig", None) or exc
        click.echo(f"cannot open the database {url}: {reason}", err=True)
        sys.exit(EXIT_STORE)
    try:
        yield store
    finally:
        await store.close()


async def _open(url: DatabaseUrl, outage: StoreOutage | None) -> SqlStore:
    waits: Iterator[float] | None = None
    while True:
        try:
            store = await open_store(url)
        except (sqlalchemy.exc.DBAPIError, sqlite3.Error, psycopg.Error) as exc:
            down = unavailable(exc)
            if outage is None or down is None:
                raise
            outage.lost(down)
            waits = waits or outage.backoff.waits()
            await asyncio.sleep(next(waits))
        else:
            if outage is not None and waits is not None:
                outage.reached()
            return store
