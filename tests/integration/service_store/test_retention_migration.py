"""Migration 0008: the retention columns and the lease table, as `tables.py` describes them."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

from callout.store.database import database_url, open_engine
from callout.store.schema import MIGRATIONS, current_revision, upgrade
from callout.store.tables import maintenance_leases, metadata, organizations

TABLES = {"organizations", "runs", "maintenance_leases"}


def downgrade(engine: sa.Engine, revision: str) -> None:
    with engine.begin() as conn:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def _ours(item: Any, name: str | None, type_: str, *_: Any) -> bool:
    table = item if type_ == "table" else getattr(item, "table", None)
    return getattr(table, "name", name) in TABLES


async def test_the_migration_makes_the_tables_the_code_describes(db_url: str) -> None:
    engine = open_engine(database_url(db_url))
    try:
        assert await upgrade(engine, "0007") == "0007"  # a database from before retention
        with engine.begin() as conn:
            conn.execute(
                organizations.insert().values(
                    id="org_OLD", name="Old", plan="growth", created_at=1.0, updated_at=1.0
                )
            )
        await upgrade(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"include_object": _ours, "compare_type": True}
            )
            assert compare_metadata(context, metadata) == []
            old = conn.execute(sa.select(organizations)).one()
            assert (old.retention_days, old.body_retention_days) == (None, None)  # defaults
            lease = conn.execute(sa.select(maintenance_leases)).one()
            assert (lease.name, lease.holder, lease.finished_at) == ("prune", None, None)
        downgrade(engine, "0007")  # and back down
        assert await current_revision(engine) == "0007"
        with engine.connect() as conn:
            assert "retention_days" not in {
                column["name"] for column in sa.inspect(conn).get_columns("organizations")
            }
        await upgrade(engine)
    finally:
        engine.dispose()
