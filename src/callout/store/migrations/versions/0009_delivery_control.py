"""Delivery control and run events: host limits, breaker states, slots, endpoints, the outbox.

`host_limits` holds an organization's limits per host (`*`: every host without
its own row); `host_states` one row per host delivery control has seen trouble
with or limits (the breaker, the rate bucket); `host_slots` one row per attempt
in flight to a limited host (or the breaker's probe), expiring on its own if its
worker dies. A step run held back records why (`wait_reason`), for which host
(`waiting_for`), and how often (`deferrals`, for the back-off). Notification
endpoints and the outbox of run events (`run_events`) tell organizations what
happened; `workflows.system` marks the workflow whose runs are notifications.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TIME = sa.Float(precision=53)


def _org_id() -> sa.Column[str]:
    return sa.Column(
        "org_id",
        sa.String(40),
        sa.ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=False,
    )


def upgrade() -> None:
    """Add the tables and columns of delivery control and run events."""
    op.create_table(
        "host_limits",
        _org_id(),
        sa.Column("host", sa.String(253), nullable=False),
        sa.Column("max_in_flight", sa.Integer, nullable=True),
        sa.Column("rate_per_second", sa.Float(precision=53), nullable=True),
        sa.Column("burst", sa.Integer, nullable=True),
        sa.Column("breaker_failures", sa.Integer, nullable=True),
        sa.Column("breaker_pause", sa.Float(precision=53), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "host", name="pk_host_limits"),
    )
    op.create_table(
        "host_states",
        _org_id(),
        sa.Column("host", sa.String(253), nullable=False),
        sa.Column("breaker", sa.String(16), nullable=False, server_default="closed"),
        sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("opened_at", TIME, nullable=True),
        sa.Column("next_probe_at", TIME, nullable=True),
        sa.Column("pause", sa.Float(precision=53), nullable=True),  # the current pause (doubles)
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("tokens", sa.Float(precision=53), nullable=True),  # the rate bucket
        sa.Column("refilled_at", TIME, nullable=True),
        sa.Column("rate_horizon", TIME, nullable=True),  # the last turn handed to a waiter
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "host", name="pk_host_states"),
    )
    op.create_table(
        "host_slots",
        sa.Column("attempt_id", sa.String(40), primary_key=True),
        _org_id(),
        sa.Column("host", sa.String(253), nullable=False),
        sa.Column("probe", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("expires_at", TIME, nullable=False),
        sa.Index("ix_host_slots_host", "org_id", "host"),
    )
    with op.batch_alter_table("step_runs") as batch:
        batch.add_column(sa.Column("wait_reason", sa.String(300), nullable=True))
        batch.add_column(sa.Column("waiting_for", sa.String(253), nullable=True))
        batch.add_column(sa.Column("deferrals", sa.Integer, nullable=False, server_default="0"))
    op.create_index(
        "ix_step_runs_waiting_for",
        "step_runs",
        ["waiting_for"],
        postgresql_where=sa.text("waiting_for IS NOT NULL"),
        sqlite_where=sa.text("waiting_for IS NOT NULL"),
    )
    with op.batch_alter_table("workflows") as batch:
        batch.add_column(sa.Column("system", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_table(
        "notification_endpoints",
        sa.Column("id", sa.String(40), primary_key=True),
        _org_id(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("events", sa.JSON, nullable=False),  # a list of event types
        sa.Column("format", sa.String(16), nullable=False),  # callout | slack
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("secret_name", sa.String(64), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.UniqueConstraint("org_id", "name", name="uq_notification_endpoints_name"),
    )
    op.create_table(
        "run_events",
        sa.Column("id", sa.String(40), primary_key=True),
        _org_id(),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("run_id", sa.String(40), nullable=True),
        sa.Column("step_id", sa.String(64), nullable=True),
        sa.Column("host", sa.String(253), nullable=True),
        sa.Column("error", sa.JSON, nullable=True),
        sa.Column("detail", sa.JSON, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Index("ix_run_events_created", "created_at"),
    )


def downgrade() -> None:
    """Drop them again."""
    op.drop_table("run_events")
    op.drop_table("notification_endpoints")
    with op.batch_alter_table("workflows") as batch:
        batch.drop_column("system")
    op.drop_index("ix_step_runs_waiting_for", table_name="step_runs")
    with op.batch_alter_table("step_runs") as batch:
        for column in ("deferrals", "waiting_for", "wait_reason"):
            batch.drop_column(column)
    op.drop_table("host_slots")
    op.drop_table("host_states")
    op.drop_table("host_limits")
