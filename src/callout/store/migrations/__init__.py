"""Schema migrations (Alembic), applied by `callout db upgrade` and on start."""
