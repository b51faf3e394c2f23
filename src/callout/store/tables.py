"""The store's tables (SQLAlchemy Core), the same on SQLite and PostgreSQL.

Times are unix seconds (UTC) in double precision: comparable, sortable and
the same in both databases.

A step run is *due* when `due_at <= now`. Claiming it sets `due_at` to the
lease's expiry and a fresh `lease_token`: if its worker dies, the row becomes
due again when the lease runs out, so one index (`due_at`) serves both new
work and takeovers, and no timer lives outside the database.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("workflow_name", sa.String(200), nullable=False),
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("trigger", sa.JSON, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", sa.Float(precision=53), nullable=False),
    sa.Column("updated_at", sa.Float(precision=53), nullable=False),
    sa.Column("finished_at", sa.Float(precision=53), nullable=True),
    # Set for runs the service starts; NULL for runs started by `callout run`.
    sa.Column("org_id", sa.String(40), nullable=True),
    sa.Column("workflow_id", sa.String(40), nullable=True),
    sa.Column("version_id", sa.String(40), nullable=True),
    # When retention removed its bodies (trigger payload, requests, responses, outputs).
    sa.Column("bodies_removed_at", sa.Float(precision=53), nullable=True),
    sa.Index("ix_runs_status_created", "status", "created_at"),
    sa.Index("ix_runs_created", "created_at"),
    sa.Index("ix_runs_org_created", "org_id", "created_at"),
    sa.Index("ix_runs_workflow_created", "workflow_id", "created_at"),
)

step_runs = sa.Table(
    "step_runs",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column(
        "run_id", sa.String(40), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("step_id", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("due_at", sa.Float(precision=53), nullable=True),
    sa.Column("lease_token", sa.String(40), nullable=True),
    sa.Column("attempts_made", sa.Integer, nullable=False, server_default="0"),
    sa.Column("interruptions", sa.Integer, nullable=False, server_default="0"),
    sa.Column("timeout", sa.Float(precision=53), nullable=False, server_default="30"),
    sa.Column("output", sa.JSON, nullable=True),
    sa.Column("error", sa.JSON, nullable=True),
    sa.Column("resumed_from", sa.String(40), nullable=True),
    sa.Column("created_at", sa.Float(precision=53), nullable=False),
    sa.Column("updated_at", sa.Float(precision=53), nullable=False),
    # Delivery control held it back (`Store.defer`): why, for which host, how often.
    sa.Column("wait_reason", sa.String(300), nullable=True),
    sa.Column("waiting_for", sa.String(253), nullable=True),
    sa.Column("deferrals", sa.Integer, nullable=False, server_default="0"),
    sa.Index("ix_step_runs_run", "run_id", "position"),
    sa.Index(
        "ix_step_runs_due",
        "due_at",
        postgresql_where=sa.text("due_at IS NOT NULL"),
        sqlite_where=sa.text("due_at IS NOT NULL"),
    ),
    sa.Index(
        "ix_step_runs_waiting_for",
        "waiting_for",
        postgresql_where=sa.text("waiting_for IS NOT NULL"),
        sqlite_where=sa.text("waiting_for IS NOT NULL"),
    ),
)

attempts = sa.Table(
    "attempts",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column(
        "step_run_id",
        sa.String(40),
        sa.ForeignKey("step_runs.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started_at", sa.Float(precision=53), nullable=False),
    sa.Column("ended_at", sa.Float(precision=53), nullable=True),
    sa.Column("http_status", sa.Integer, nullable=True),
    sa.Column("error", sa.JSON, nullable=True),
    sa.Column("request", sa.JSON, nullable=True),
    sa.Column("response", sa.JSON, nullable=True),
    sa.Column("next_attempt_at", sa.Float(precision=53), nullable=True),
    sa.UniqueConstraint("step_run_id", "number", name="uq_attempts_step_run_number"),
)

workers = sa.Table(
    "workers",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started_at", sa.Float(precision=53), nullable=False),
    sa.Column("last_seen_at", sa.Float(precision=53), nullable=False),
    sa.Index("ix_workers_last_seen", "last_seen_at"),
)


def _org_id() -> sa.Column[str]:
    """Return the column naming the organization a row belongs to (deleted with it)."""
    return sa.Column(
        "org_id",
        sa.String(40),
        sa.ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=False,
    )


organizations = sa.Table(
    "organizations",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("plan", sa.String(16), nullable=False),
    sa.Column("created_at", sa.Float(precision=53), nullable=False),
    sa.Column("updated_at", sa.Float(precision=53), nullable=False),
    # Retention (store/retention.py): NULL keeps the default; NULL body days: as long as runs.
    sa.Column("retention_days", sa.Integer, nullable=True),
    sa.Column("body_retention_days", sa.Integer, nullable=True),
    # How far pruning got: runs created before these times had their bodies or keys removed.
    sa.Column("bodies_removed_before", sa.Float(precision=53), nullable=True),
    sa.Column("keys_expired_before", sa.Float(precision=53), nullable=True),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    _org_id(),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.Float(precision=53), nullable=False),
    sa.Column("last_used_at", sa.Float(precision=53), nullable=True),
    sa.Column("revoked_at", sa.Float(precision=53), nullable=True),
    sa.Index("ix_api_keys_org", "org_id"),
)

secrets = sa.Table(
    "secrets",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    _org_id(),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("value", sa.Text, nullable=False),  # encrypted (see store/encryption.py)
    sa.Column("previous_value", sa.Text, nullable=True),  # encrypted; signs until previous_until
    sa.Column("previous_until", sa.Float(precision=53), nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", sa.Float(precision=53), nullable=False),
    sa.Column("updated_at", sa.Float(precision=53), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False, server_default="text"),  # text | certificate
    sa.UniqueConstraint("org_id", "name", name="uq_secrets_org_name"),
)

workflows = sa.Table(
    "workflows",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    _org_id(),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("live_version_id", sa.String(40), nullable=True),
    sa.Column("event", sa.String(200), nullable=True),  # the live version's event, if any
    sa.Column("archived_at", sa.Float(precision=53), nullable=True),
    sa.Column("created_at", sa.Float(precision=53), nullable=False),
    sa.Column("updated_at", sa.Float(precision=53), nullable=False),
    # The organization's system workflow: its runs are run events' notifications.
    sa.Column("system", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("ix_workflows_org_created", "org_id", "created_at"),
    sa.Index("ix_workflows_org_event", "org_id", "event"),
)

workflow_versions = sa.Table(
    "workflow_versions",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column(
        "workflow_id",
        sa.String(40),
        sa.ForeignKey("workflows.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # draft | published
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("created_at", sa.Float(precision=53), nullable=False),
    sa.Column("created_by", sa.String(40), nullable=True),
    sa.Column("updated_at", sa.Float(precision=53), nullable=False),
    sa.Column("updated_by", sa.String(40), nullable=True),
    sa.Column("published_at", sa.Float(precision=53), nullable=True),
    sa.Column("published_by", sa.String(40), nullable=True),
    sa.UniqueConstraint("workflow_id", "number", name="uq_workflow_versions_number"),
)

trigger_calls = sa.Table(
    "trigger_calls",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    _org_id(),
    sa.Column("workflow_id", sa.String(40), nullable=True),
    sa.Column("event", sa.String(200), nullable=True),
    sa.Column("idempotency_key", sa.String(255), nullable=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("status_code", sa.Integer, nullable=False),
    sa.Column("response", sa.JSON, nullable=False),
    sa.Column("created_at", sa.Float(precision=53), nullable=False),
    sa.UniqueConstraint("org_id", "idempotency_key", name="uq_trigger_calls_key"),
    sa.Index("ix_trigger_calls_org_created", "org_id", "created_at"),
)

dashboard_sessions = sa.Table(
    "dashboard_sessions",
    metadata,
    # The SHA-256 of the session's random id: the id itself lives only in the browser's cookie.
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column(
        "key_id", sa.String(40), sa.ForeignKey("api_keys.id", ondelete="CASCADE"), nullable=False
    ),
    _org_id(),
    sa.Column("created_at", sa.Float(precision=53), nullable=False),
    sa.Column("expires_at", sa.Float(precision=53), nullable=False),
    sa.Column("ended_at", sa.Float(precision=53), nullable=True),  # signed out, or key revoked
    sa.Index("ix_dashboard_sessions_key_created", "key_id", "created_at"),
    sa.Index("ix_dashboard_sessions_expires", "expires_at"),
)

access_tokens = sa.Table(
    "access_tokens",
    metadata,
    # An HMAC of the organization and the client credentials under a key derived from
    # the operator's (engine/token_source.py): no credential is kept here in any form.
    sa.Column("cache_key", sa.String(64), primary_key=True),
    # NULL for runs of no organization (`callout run --detach`, read by `callout worker`).
    sa.Column(
        "org_id",
        sa.String(40),
        sa.ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=True,
    ),
    sa.Column("token", sa.Text, nullable=True),  # encrypted (see store/encryption.py)
    sa.Column("refresh_at", sa.Float(precision=53), nullable=True),  # handed out until then
    sa.Column("expires_at", sa.Float(precision=53), nullable=True),  # as the server said
    sa.Column("lease", sa.String(40), nullable=True),  # the fetch underway, or the last one
    sa.Column("fetching_until", sa.Float(precision=53), nullable=True),
    sa.Column("failure", sa.Text, nullable=True),  # why the last fetch failed (no secret)
    sa.Column("failure_retryable", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("updated_at", sa.Float(precision=53), nullable=False),
    sa.Index("ix_access_tokens_org", "org_id"),
)

maintenance_leases = sa.Table(
    "maintenance_leases",
    metadata,
    # One row per periodic task ("prune"): the database decides which worker runs it.
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("holder", sa.String(40), nullable=True),
    sa.Column("expires_at", sa.Float(precision=53), nullable=True),
    sa.Column("finished_at", sa.Float(precision=53), nullable=True),
)

# Delivery control (store/delivery.py, docs/delivery-control.md).

host_limits = sa.Table(
    "host_limits",
    metadata,
    _org_id(),
    sa.Column("host", sa.String(253), nullable=False),  # lower case, no port; `*`: any host
    sa.Column("max_in_flight", sa.Integer, nullable=True),
    sa.Column("rate_per_second", sa.Float(precision=53), nullable=True),
    sa.Column("burst", sa.Integer, nullable=True),
    sa.Column("breaker_failures", sa.Integer, nullable=True),
    sa.Column("breaker_pause", sa.Float(precision=53), nullable=True),
    sa.Column("created_at", sa.Float(precision=53), nullable=False),
    sa.Column("updated_at", sa.Float(precision=53), nullable=False),
    sa.PrimaryKeyConstraint("org_id", "host", name="pk_host_limits"),
)

host_states = sa.Table(
    "host_states",
    metadata,
    # One row per host delivery control limits or saw fail: admissions hold it (FOR UPDATE).
    _org_id(),
    sa.Column("host", sa.String(253), nullable=False),
    sa.Column("breaker", sa.String(16), nullable=False, server_default="closed"),
    sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("opened_at", sa.Float(precision=53), nullable=True),
    sa.Column("next_probe_at", sa.Float(precision=53), nullable=True),
    sa.Column("pause", sa.Float(precision=53), nullable=True),  # the current pause (doubles)
    sa.Column("last_error", sa.String(200), nullable=True),
    sa.Column("tokens", sa.Float(precision=53), nullable=True),  # the rate bucket; NULL: full
    sa.Column("refilled_at", sa.Float(precision=53), nullable=True),
    sa.Column("rate_horizon", sa.Float(precision=53), nullable=True),  # the last turn handed out
    sa.Column("updated_at", sa.Float(precision=53), nullable=False),
    sa.PrimaryKeyConstraint("org_id", "host", name="pk_host_states"),
)

host_slots = sa.Table(
    "host_slots",
    metadata,
    # An attempt in flight to a limited host, or the breaker's probe; expires if its worker dies.
    sa.Column("attempt_id", sa.String(40), primary_key=True),
    _org_id(),
    sa.Column("host", sa.String(253), nullable=False),
    sa.Column("probe", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("expires_at", sa.Float(precision=53), nullable=False),
    sa.Index("ix_host_slots_host", "org_id", "host"),
)

# Run events (store/run_events.py, docs/run-events.md).

notification_endpoints = sa.Table(
    "notification_endpoints",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    _org_id(),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("events", sa.JSON, nullable=False),  # a list of event types
    sa.Column("format", sa.String(16), nullable=False),  # callout | slack
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("secret_name", sa.String(64), nullable=False),  # the org secret that signs
    sa.Column("created_at", sa.Float(precision=53), nullable=False),
    sa.Column("updated_at", sa.Float(precision=53), nullable=False),
    sa.UniqueConstraint("org_id", "name", name="uq_notification_endpoints_name"),
)

run_events = sa.Table(
    "run_events",
    metadata,
    # The outbox: written in the transaction of the change that caused the event.
    sa.Column("id", sa.String(40), primary_key=True),
    _org_id(),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("run_id", sa.String(40), nullable=True),
    sa.Column("step_id", sa.String(64), nullable=True),
    sa.Column("host", sa.String(253), nullable=True),
    sa.Column("error", sa.JSON, nullable=True),
    sa.Column("detail", sa.JSON, nullable=True),
    sa.Column("created_at", sa.Float(precision=53), nullable=False),
    sa.Index("ix_run_events_created", "created_at"),
)
