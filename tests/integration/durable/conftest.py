"""Every durable test runs on a fresh SQLite file and on a fresh PostgreSQL database.

The fixtures (`db_url`, `store`, `pg_url`, `pg_store`) are shared by all integration
tests: `tests/integration/conftest.py`.
"""
