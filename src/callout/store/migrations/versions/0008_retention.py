"""Retention: how long an organization keeps runs and bodies, and how far pruning got.

`organizations` gains its retention settings (NULL: the defaults) and two marks
of how far pruning has removed bodies and expired trigger idempotency keys;
`runs` records when its bodies were removed; `maintenance_leases` holds one row
per periodic task (`prune`), so that one worker at a time runs it. Existing
organizations keep the defaults (30 days; bodies as long as their runs).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TIME = sa.Float(precision=53)


def upgrade() -> None:
    """Add the retention settings and marks, and the table of maintenance leases."""
    op.add_column("organizations", sa.Column("retention_days", sa.Integer, nullable=True))
    op.add_column("organizations", sa.Column("body_retention_days", sa.Integer, nullable=True))
    op.add_column("organizations", sa.Column("bodies_removed_before", TIME, nullable=True))
    op.add_column("organizations", sa.Column("keys_expired_before", TIME, nullable=True))
    op.add_column("runs", sa.Column("bodies_removed_at", TIME, nullable=True))
    leases = op.create_table(
        "maintenance_leases",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("holder", sa.String(40), nullable=True),
        sa.Column("expires_at", TIME, nullable=True),
        sa.Column("finished_at", TIME, nullable=True),
    )
    # The row exists from the start: taking the lease is one UPDATE, never a racing INSERT.
    op.bulk_insert(leases, [{"name": "prune"}])


def downgrade() -> None:
    """Drop them again."""
    op.drop_table("maintenance_leases")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("bodies_removed_at")
    with op.batch_alter_table("organizations") as batch:
        for column in (
            "keys_expired_before",
            "bodies_removed_before",
            "body_retention_days",
            "retention_days",
        ):
            batch.drop_column(column)
