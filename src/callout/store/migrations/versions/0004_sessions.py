"""Dashboard sessions, kept by the server: signing out or revoking the key ends them.

One row per signed-in browser: the SHA-256 of the session's random id (the id
itself is only in the browser's cookie), the API key and organization it acts
for, and when it was opened, expires and ended. Written out in full, not taken
from `tables.py`, so this revision stays what it was when later revisions
change the tables.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TIME = sa.Float(precision=53)


def upgrade() -> None:
    """Create the table of dashboard sessions."""
    op.create_table(
        "dashboard_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column(
            "key_id",
            sa.String(40),
            sa.ForeignKey("api_keys.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "org_id",
            sa.String(40),
            sa.ForeignKey("organizations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.Column("ended_at", TIME, nullable=True),
    )
    op.create_index(
        "ix_dashboard_sessions_key_created", "dashboard_sessions", ["key_id", "created_at"]
    )
    op.create_index("ix_dashboard_sessions_expires", "dashboard_sessions", ["expires_at"])
