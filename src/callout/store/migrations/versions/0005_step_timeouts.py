"""Each step run carries its step's timeout, so a claim leases it for exactly that long.

A claim records the attempt as `sending` in the same statement that leases the
step run; the lease runs the step's timeout plus the worker's margin, so the
attempt needs no second write to stretch it. Step runs recorded before this
revision get the default timeout (30 s).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add `step_runs.timeout` (seconds)."""
    op.add_column(
        "step_runs",
        sa.Column("timeout", sa.Float(precision=53), nullable=False, server_default="30"),
    )


def downgrade() -> None:
    """Drop `step_runs.timeout`."""
    with op.batch_alter_table("step_runs") as batch:
        batch.drop_column("timeout")
