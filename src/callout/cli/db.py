"""`callout db`: the database's schema."""

from __future__ import annotations

import asyncio

import click

from callout.cli.store_access import database_option, opened_store
from callout.store.schema import current_revision


@click.group("db")
def db_group() -> None:
    """Manage the database's schema."""


@db_group.command("upgrade")
@database_option
def upgrade_command(database: str | None) -> None:
    """Apply every migration (commands that open the store also do this on start)."""

    async def upgrade() -> str | None:
        async with opened_store(database) as store:
            return await current_revision(store.engine)

    click.echo(f"schema at revision {asyncio.run(upgrade())}")
