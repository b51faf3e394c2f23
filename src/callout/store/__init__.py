"""The durable record of runs and the service's records: the protocols the engine and API use.

Importing this package loads no database library: the SQL implementation is
`callout.store.sql_store` (`SqlStore`, `open_store`) over `callout.store.database`
(`database_url`, `open_engine`), which only `callout.cli` and tests wire in.
"""

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
from callout.store.service import ServiceStore

__all__ = [
    "Claim",
    "FinishedAttempt",
    "LeaseLostError",
    "NewRun",
    "RunStateError",
    "ServiceStore",
    "Store",
    "StoredAttempt",
    "StoredRun",
    "StoredStepRun",
    "UnknownRunError",
]
