"""The service: organizations, API keys, secrets, workflows and versions, trigger calls.

Runs gain the organization, workflow and version they belong to (NULL for
runs started by `callout run`, which belong to no organization). Written out
in full, not taken from `tables.py`, so this revision stays what it was when
later revisions change the tables.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TIME = sa.Float(precision=53)


def _org_column() -> sa.Column[str]:
    return sa.Column(
        "org_id",
        sa.String(40),
        sa.ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=False,
    )


def upgrade() -> None:
    """Create the service's tables and link runs to them."""
    op.create_table(
        "organizations",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("plan", sa.String(16), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(40), primary_key=True),
        _org_column(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("last_used_at", TIME, nullable=True),
        sa.Column("revoked_at", TIME, nullable=True),
    )
    op.create_index("ix_api_keys_org", "api_keys", ["org_id"])
    op.create_table(
        "secrets",
        sa.Column("id", sa.String(40), primary_key=True),
        _org_column(),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("previous_value", sa.Text, nullable=True),
        sa.Column("previous_until", TIME, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.UniqueConstraint("org_id", "name", name="uq_secrets_org_name"),
    )
    op.create_table(
        "workflows",
        sa.Column("id", sa.String(40), primary_key=True),
        _org_column(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("live_version_id", sa.String(40), nullable=True),
        sa.Column("event", sa.String(200), nullable=True),
        sa.Column("archived_at", TIME, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
    )
    op.create_index("ix_workflows_org_created", "workflows", ["org_id", "created_at"])
    op.create_index("ix_workflows_org_event", "workflows", ["org_id", "event"])
    op.create_table(
        "workflow_versions",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "workflow_id",
            sa.String(40),
            sa.ForeignKey("workflows.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("created_by", sa.String(40), nullable=True),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("updated_by", sa.String(40), nullable=True),
        sa.Column("published_at", TIME, nullable=True),
        sa.Column("published_by", sa.String(40), nullable=True),
        sa.UniqueConstraint("workflow_id", "number", name="uq_workflow_versions_number"),
    )
    op.create_table(
        "trigger_calls",
        sa.Column("id", sa.String(40), primary_key=True),
        _org_column(),
        sa.Column("workflow_id", sa.String(40), nullable=True),
        sa.Column("event", sa.String(200), nullable=True),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("response", sa.JSON, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.UniqueConstraint("org_id", "idempotency_key", name="uq_trigger_calls_key"),
    )
    op.create_index("ix_trigger_calls_org_created", "trigger_calls", ["org_id", "created_at"])
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("org_id", sa.String(40), nullable=True))
        batch.add_column(sa.Column("workflow_id", sa.String(40), nullable=True))
        batch.add_column(sa.Column("version_id", sa.String(40), nullable=True))
    op.create_index("ix_runs_org_created", "runs", ["org_id", "created_at"])
    op.create_index("ix_runs_workflow_created", "runs", ["workflow_id", "created_at"])
