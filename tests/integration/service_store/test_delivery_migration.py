"""Migration 0009: delivery control's and run events' tables and columns, as `tables.py` says."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

from callout.store.database import database_url, open_engine
from callout.store.schema import MIGRATIONS, current_revision, upgrade
from callout.store.tables import metadata, step_runs

TABLES = {
    "host_limits",
    "host_states",
    "host_slots",
    "notification_endpoints",
    "run_events",
    "step_runs",
    "workflows",
}


def _ours(item: Any, name: str | None, type_: str, *_: Any) -> bool:
    table = item if type_ == "table" else getattr(item, "table", None)
    return getattr(table, "name", name) in TABLES


def _downgrade(engine: sa.Engine, revision: str) -> None:
    with engine.begin() as conn:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


async def test_the_migration_makes_the_tables_the_code_describes_and_keeps_old_rows(
    db_url: str,
) -> None:
    engine = open_engine(database_url(db_url))
    try:
        assert await upgrade(engine, "0008") == "0008"  # a database from before delivery control
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO runs (id, workflow_name, document, status, created_at, "
                    "updated_at) VALUES ('wfr_OLD', 'wf', '{}', 'pending', 1, 1)"
                )
            )
            conn.execute(
                sa.text(
                    "INSERT INTO step_runs (id, run_id, position, step_id, status, created_at, "
                    "updated_at) VALUES ('stp_OLD', 'wfr_OLD', 0, 'a', 'pending', 1, 1)"
                )
            )
        await upgrade(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"include_object": _ours, "compare_type": True}
            )
            assert compare_metadata(context, metadata) == []
            old = conn.execute(sa.select(step_runs)).one()
            assert (old.wait_reason, old.waiting_for, old.deferrals) == (None, None, 0)
        _downgrade(engine, "0008")  # and back down
        assert await current_revision(engine) == "0008"
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            assert "host_states" not in inspector.get_table_names()
            assert "deferrals" not in {c["name"] for c in inspector.get_columns("step_runs")}
        await upgrade(engine)
    finally:
        engine.dispose()
