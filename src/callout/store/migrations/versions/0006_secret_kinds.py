"""Secrets have a kind: `text` (any value) or `certificate` (PEM certificate and key, for mTLS).

Secrets stored before this revision are `text`.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add `secrets.kind`."""
    op.add_column(
        "secrets",
        sa.Column("kind", sa.String(16), nullable=False, server_default="text"),
    )


def downgrade() -> None:
    """Drop `secrets.kind`."""
    with op.batch_alter_table("secrets") as batch:
        batch.drop_column("kind")
