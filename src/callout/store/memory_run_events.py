"""`RunEventRecords` in memory (unit tests), passing the same contract tests as SQL.

Endpoints are kept here; the outbox is the memory store's (`MemoryStore.outbox`,
where results record their events), and the system workflow is a row of
`MemoryWorkflows` marked `system`, as SQL shares its tables. A dispatch builds
every run before it changes anything, so a failure leaves the events and
records as they were (one transaction, as in SQL).
"""

from __future__ import annotations

import copy
import dataclasses
from typing import TYPE_CHECKING

from callout.model.clock import Clock, SystemClock
from callout.model.ids import new_id
from callout.store.protocol import ConflictError, NewRun, NotFoundError, UnknownRunError
from callout.store.run_event_dispatch import ENDPOINT_ID_PREFIX, of_system_workflow, subscribed
from callout.store.run_events import (
    SYSTEM_WORKFLOW_NAME,
    Endpoint,
    EndpointChanges,
    EndpointFormat,
    EventType,
    NotificationRun,
    RunEvent,
)

if TYPE_CHECKING:
    from callout.store.memory import MemoryStore


def _taken(name: str) -> ConflictError:
    return ConflictError(f"a notification endpoint named {name!r} exists; choose another name")


class MemoryRunEvents:
    """Notification endpoints and the outbox of run events in memory."""

    def __init__(self, store: MemoryStore, clock: Clock | None = None) -> None:
        self._store = store
        self._clock = clock or SystemClock()  # the database's clock: the times endpoints carry
        self._endpoints: dict[str, Endpoint] = {}

    def _found(self, org_id: str, endpoint_id: str) -> Endpoint:
        endpoint = self._endpoints.get(endpoint_id)
        if endpoint is None or endpoint.org_id != org_id:
            raise NotFoundError(f"no notification endpoint {endpoint_id}")
        return endpoint

    def _name_taken(self, org_id: str, name: str, *, other_than: str = "") -> bool:
        return any(
            endpoint.org_id == org_id and endpoint.name == name and endpoint.id != other_than
            for endpoint in self._endpoints.values()
        )

    async def list_endpoints(self, *, org_id: str) -> list[Endpoint]:
        """Return an organization's endpoints, by name."""
        return sorted(
            (endpoint for endpoint in self._endpoints.values() if endpoint.org_id == org_id),
            key=lambda endpoint: endpoint.name,
        )

    async def get_endpoint(self, *, org_id: str, endpoint_id: str) -> Endpoint:
        """Return one endpoint. Raises NotFoundError."""
        return self._found(org_id, endpoint_id)

    async def create_endpoint(  # noqa: PLR0913 - what an endpoint is
        self,
        *,
        org_id: str,
        name: str,
        url: str,
        events: tuple[EventType, ...],
        body_format: EndpointFormat,
        secret_name: str,
    ) -> Endpoint:
        """Record an endpoint (enabled). Raises NotFoundError or ConflictError (name taken)."""
        await self._store.accounts.get_organization(org_id=org_id)
        if self._name_taken(org_id, name):
            raise _taken(name)
        now = self._clock.now()
        endpoint = Endpoint(
            id=new_id(ENDPOINT_ID_PREFIX, now=now),
            org_id=org_id,
            name=name,
            url=url,
            events=tuple(EventType(kind) for kind in events),
            body_format=EndpointFormat(body_format),
            enabled=True,
            secret_name=secret_name,
            created_at=now,
            updated_at=now,
        )
        self._endpoints[endpoint.id] = endpoint
        return endpoint

    async def update_endpoint(
        self, *, org_id: str, endpoint_id: str, changes: EndpointChanges
    ) -> Endpoint:
        """Change an endpoint. Raises NotFoundError, or ConflictError for a taken name."""
        endpoint = self._found(org_id, endpoint_id)
        if changes.name is not None and self._name_taken(
            org_id, changes.name, other_than=endpoint_id
        ):
            raise _taken(changes.name)
        changed = {
            field.name: getattr(changes, field.name)
            for field in dataclasses.fields(changes)
            if getattr(changes, field.name) is not None
        }
        if changed:
            endpoint = dataclasses.replace(endpoint, **changed, updated_at=self._clock.now())
            self._endpoints[endpoint_id] = endpoint
        return endpoint

    async def delete_endpoint(self, *, org_id: str, endpoint_id: str) -> None:
        """Remove an endpoint (its runs stay). Raises NotFoundError."""
        self._found(org_id, endpoint_id)
        del self._endpoints[endpoint_id]

    async def system_workflow_id(self, *, org_id: str) -> str:
        """Return the organization's system workflow, recording it the first time."""
        await self._store.accounts.get_organization(org_id=org_id)
        return self._store.workflows.system_workflow(
            org_id, name=SYSTEM_WORKFLOW_NAME, now=self._clock.now()
        )

    async def wanted_events(self, *, org_id: str) -> frozenset[EventType]:
        """Return the event types some enabled endpoint of the organization wants."""
        return frozenset(
            kind
            for endpoint in self._endpoints.values()
            if endpoint.org_id == org_id and endpoint.enabled
            for kind in endpoint.events
        )

    async def _with_run(self, event: RunEvent) -> tuple[RunEvent, bool]:
        """Return the event with its run's workflow, and whether that is a system workflow."""
        if event.run_id is None:
            return event, False
        try:
            run = await self._store.get_run(event.run_id)
        except UnknownRunError:
            return event, False
        workflows = self._store.workflows
        system = run.workflow_id is not None and workflows.is_system(run.workflow_id)
        named = dataclasses.replace(
            event, workflow_id=run.workflow_id, workflow_name=run.workflow_name
        )
        return named, system

    async def dispatch(self, *, limit: int, build: NotificationRun) -> int:
        """Turn up to `limit` events into runs and remove them; all of it or nothing."""
        outbox = self._store.outbox
        taken = sorted(outbox, key=lambda event: (event.created_at, event.id))[:limit]
        if not taken:
            return 0
        kept = [event for event, system in [await self._with_run(e) for e in taken] if not system]
        pairs = subscribed(kept, self._endpoints.values())
        built: list[tuple[RunEvent, NewRun]] = [
            (event, build(copy.deepcopy(event), endpoint)) for event, endpoint in pairs
        ]
        systems = {
            org_id: await self.system_workflow_id(org_id=org_id)
            for org_id in sorted({event.org_id for event, _ in built})
        }
        for event, run in built:
            await self._store.create_run(of_system_workflow(run, event, systems[event.org_id]))
        gone = {event.id for event in taken}
        outbox[:] = [event for event in outbox if event.id not in gone]
        return len(taken)
