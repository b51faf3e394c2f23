"""The database schema's version: upgrade it, and refuse a schema newer than this code.

Migrations live in `migrations/versions` (Alembic). `callout db upgrade` runs
them; every command that opens the store runs them too, so a fresh machine
needs no extra step. A database upgraded by a newer callout is refused with a
clear message instead of being misread.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from callout.model.errors import StoreError

MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaTooNewError(StoreError):
    """The database was written by a newer version of callout."""


def _config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """Return the newest schema revision this code knows."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:
        raise StoreError("no migrations found")
    return head


def known_revisions() -> set[str]:
    """Return every schema revision this code knows."""
    return {script.revision for script in ScriptDirectory.from_config(_config()).walk_revisions()}


def _current(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


async def current_revision(engine: sa.Engine) -> str | None:
    """Return the database's schema revision, or None for an empty database."""
    return await asyncio.to_thread(_current, engine)


def _check(revision: str | None) -> None:
    if revision is not None and revision not in known_revisions():
        raise SchemaTooNewError(
            f"this database has schema revision {revision}, which this version of callout "
            f"does not know (it knows up to {head_revision()}): it was upgraded by a newer "
            "callout. Run that version, or upgrade callout; nothing was changed."
        )


def _upgrade(engine: sa.Engine, revision: str) -> str:
    _check(_current(engine))
    with engine.begin() as conn:
        command.upgrade(_config(conn), revision)
    reached = _current(engine)
    if reached is None:
        raise StoreError("the schema upgrade did not record a revision")
    return reached


async def upgrade(engine: sa.Engine, revision: str = "head") -> str:
    """Bring the schema to `revision` (default: the newest); return the revision reached."""
    return await asyncio.to_thread(_upgrade, engine, revision)
