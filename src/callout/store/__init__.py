"""The durable record of runs: the store protocol and its SQLAlchemy implementation."""

from callout.store.database import DatabaseUrl, database_url, open_engine
from callout.store.protocol import (
    Claim,
    FinishedAttempt,
    LeaseLostError,
    NewRun,
    RunStateError,
    Store,
    StoredAttempt,
    StoredRun,
    StoredStepRun,
    UnknownRunError,
)
from callout.store.sql_store import SqlStore, open_store

__all__ = [
    "Claim",
    "DatabaseUrl",
    "FinishedAttempt",
    "LeaseLostError",
    "NewRun",
    "RunStateError",
    "SqlStore",
    "Store",
    "StoredAttempt",
    "StoredRun",
    "StoredStepRun",
    "UnknownRunError",
    "database_url",
    "open_engine",
    "open_store",
]
