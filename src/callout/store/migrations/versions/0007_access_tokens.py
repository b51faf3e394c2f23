"""OAuth2 access tokens, fetched once and shared by every worker (store/token_records.py).

One row per organization and set of client credentials (its key an HMAC of
them): the token encrypted with the operator's key, when callout stops handing
it out and when it expires, and the fetch lease that lets exactly one worker
fetch it. Written out in full, not taken from `tables.py`, so this revision
stays what it was when later revisions change the tables.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TIME = sa.Float(precision=53)


def upgrade() -> None:
    """Create the table of access tokens."""
    op.create_table(
        "access_tokens",
        sa.Column("cache_key", sa.String(64), primary_key=True),
        sa.Column(
            "org_id",
            sa.String(40),
            sa.ForeignKey("organizations.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("token", sa.Text, nullable=True),
        sa.Column("refresh_at", TIME, nullable=True),
        sa.Column("expires_at", TIME, nullable=True),
        sa.Column("lease", sa.String(40), nullable=True),
        sa.Column("fetching_until", TIME, nullable=True),
        sa.Column("failure", sa.Text, nullable=True),
        sa.Column("failure_retryable", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("updated_at", TIME, nullable=False),
    )
    op.create_index("ix_access_tokens_org", "access_tokens", ["org_id"])


def downgrade() -> None:
    """Drop the table of access tokens (tokens are fetched again as needed)."""
    op.drop_index("ix_access_tokens_org", table_name="access_tokens")
    op.drop_table("access_tokens")
