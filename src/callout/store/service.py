"""Everything the API and the engine ask of a store: the run queue and the service records.

`callout.api` and `callout.engine` work through these protocols only (they
import no SQLAlchemy); `SqlStore` and `MemoryStore` implement them and pass
the same contract tests.
"""

from __future__ import annotations

from typing import Protocol

from callout.store.account_records import AccountRecords
from callout.store.delivery import DeliveryRecords
from callout.store.protocol import Store
from callout.store.retention import RetentionRecords
from callout.store.run_events import RunEventRecords
from callout.store.run_reading import RunReading
from callout.store.token_records import AccessTokenRecords
from callout.store.workflow_records import WorkflowRecords


class ServiceStore(Store, Protocol):
    """The run queue, with the service's records beside it."""

    @property
    def accounts(self) -> AccountRecords:
        """Organizations, API keys, dashboard sessions, secrets."""
        ...

    @property
    def workflows(self) -> WorkflowRecords:
        """Workflows, versions, trigger calls."""
        ...

    @property
    def tokens(self) -> AccessTokenRecords:
        """OAuth2 access tokens, shared by every worker (one fetch, not one per worker)."""
        ...

    @property
    def run_reading(self) -> RunReading:
        """The API's reads of runs."""
        ...

    @property
    def retention(self) -> RetentionRecords:
        """Retention settings, and pruning in bounded batches."""
        ...

    @property
    def delivery(self) -> DeliveryRecords:
        """Per-host limits, circuit breakers and admissions (docs/delivery-control.md)."""
        ...

    @property
    def run_events(self) -> RunEventRecords:
        """Notification endpoints and the outbox of run events (docs/run-events.md)."""
        ...

    async def ping(self, *, within: float) -> None:
        """Return once the database answers; StoreUnavailable after `within` seconds."""
        ...

    async def close(self) -> None:
        """Finish queued work and release every connection."""
        ...
