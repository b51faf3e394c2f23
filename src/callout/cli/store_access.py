"""Open the store for a command: the database from `--database` or `CALLOUT_DATABASE_URL`.

The schema is brought up to date on open, so a fresh machine needs no step
of its own; a database from a newer callout is refused with a clear message.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import click
import sqlalchemy.exc

from callout.store import SqlStore, database_url, open_store
from callout.store.schema import SchemaTooNewError

EXIT_STORE = 2

database_option = click.option(
    "--database",
    metavar="URL",
    envvar="CALLOUT_DATABASE_URL",
    help="Where runs are recorded: a SQLite file (default ./callout.db) or postgresql://... "
    "[env: CALLOUT_DATABASE_URL]",
)


@asynccontextmanager
async def opened_store(database: str | None) -> AsyncIterator[SqlStore]:
    """Open (and upgrade) the store; exit 2 with a clear message when that fails."""
    try:
        url = database_url(database)
    except ValueError as exc:
        click.echo(str(exc), err=True)
        sys.exit(EXIT_STORE)
    try:
        store = await open_store(url)
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
