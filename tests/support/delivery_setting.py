"""Delivery control in a worker on the in-memory store: what the gate tests start from.

The executor is driven through `execute(claim)`, the store read back with
`get_run` and `delivery.host_states`. The store's manual clock plays the
database's; the gate's one-second cache (and a worker's reserve) run on a manual
monotonic clock, so a stale reading is a step of the test, not a sleep.
`CountedRecords` passes every call to the memory store's real records and counts
it: how many round trips the gate costs is what several tests prove.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry

from callout.engine.delivery_gate import DeliveryControl, HostGate
from callout.engine.event_wants import EventWants
from callout.engine.executor import StepExecutor
from callout.engine.prometheus_metrics import PrometheusEngineMetrics
from callout.engine.starting import new_run
from callout.http import InboundResponse
from callout.http.testing import MockTransport
from callout.model.clock import ManualClock
from callout.model.plans import Plan
from callout.steps.validation import validate_workflow
from callout.store.delivery import (
    Admission,
    AdmitTicket,
    DeliveryRecords,
    HostLimit,
    HostState,
)
from callout.store.encryption import load_secret_key, new_key_text
from callout.store.memory import MemoryStore
from callout.store.outage import Backoff, StoreOutage
from callout.store.protocol import Claim, StoredStepRun
from callout.store.secrets import StoredOrgSecrets
from support.running import workflow_of

DB_START = 1_800_000_000.0
QUICK = Backoff(first=0.001, cap=0.004)
JSON = (("Content-Type", "application/json"),)


class CountedRecords:
    """The memory store's delivery records, each call counted (and each ticket kept)."""

    def __init__(self, inner: DeliveryRecords) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()
        self.tickets: list[AdmitTicket] = []

    async def host_limits(self, *, org_id: str) -> list[HostLimit]:
        self.calls["host_limits"] += 1
        return await self.inner.host_limits(org_id=org_id)

    async def set_host_limit(self, limit: HostLimit) -> HostLimit:
        return await self.inner.set_host_limit(limit)

    async def delete_host_limit(self, *, org_id: str, host: str) -> None:
        await self.inner.delete_host_limit(org_id=org_id, host=host)

    async def host_states(self, *, org_id: str) -> list[HostState]:
        return await self.inner.host_states(org_id=org_id)

    async def troubled_hosts(self, *, org_id: str) -> dict[str, HostState]:
        self.calls["troubled_hosts"] += 1
        return await self.inner.troubled_hosts(org_id=org_id)

    async def admit(self, ticket: AdmitTicket) -> Admission:
        self.calls["admit"] += 1
        self.tickets.append(ticket)
        return await self.inner.admit(ticket)

    async def give_back(self, *, org_id: str, host: str, slot_ids: tuple[str, ...]) -> None:
        self.calls["give_back"] += 1
        await self.inner.give_back(org_id=org_id, host=host, slot_ids=slot_ids)

    async def resume_host(self, *, org_id: str, host: str) -> HostState:
        return await self.inner.resume_host(org_id=org_id, host=host)

    async def paused_hosts(self) -> list[HostState]:
        return await self.inner.paused_hosts()


class Monotonic:
    """A monotonic clock that moves when the test says: the gate's cache ages by it."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def answer(status: int) -> InboundResponse:
    return InboundResponse(status=status, headers=JSON, body=b'{"ok": true}')


def step(**config: Any) -> dict[str, Any]:
    return {"id": "a", "action": "make_https_request", "url": "https://API.test:8443/x", **config}


@dataclass
class Setting:
    """One organization on a memory store, and a worker's delivery control over it."""

    store: MemoryStore
    db: ManualClock
    """The database's clock."""
    org_id: str
    records: CountedRecords
    control: DeliveryControl
    monotonic: Monotonic
    """The clock the gate's cache ages by."""
    registry: CollectorRegistry

    def executor(self, transport: MockTransport) -> StepExecutor:
        cipher = load_secret_key({"CALLOUT_SECRET_KEY": new_key_text()}).cipher
        return StepExecutor(
            store=self.store,
            transport=transport,
            clock=ManualClock(DB_START),
            outage=StoreOutage(QUICK),
            org_secrets=StoredOrgSecrets(self.store, cipher),
            metrics=PrometheusEngineMetrics(self.registry),
            delivery=self.control,
            event_wants=EventWants(self.store.run_events),
        )

    def gate(self, attempt: str) -> HostGate:
        return self.control.gate(
            org_id=self.org_id,
            attempt_id=attempt,
            step_run_id=f"stp_{attempt}",
            timeout=10.0,
            outage=StoreOutage(QUICK),
        )

    async def limit(self, host: str, **limits: Any) -> None:
        await self.store.delivery.set_host_limit(HostLimit(org_id=self.org_id, host=host, **limits))

    def deferrals(self, kind: str) -> float | None:
        return self.registry.get_sample_value("callout_deferrals_total", {"kind": kind})


async def setting() -> Setting:
    db = ManualClock(DB_START)
    store = MemoryStore(clock=db)
    org, _key = await store.accounts.create_organization(
        name="Acme", plan=Plan.GROWTH, now=DB_START
    )
    records = CountedRecords(store.delivery)
    monotonic = Monotonic()
    control = DeliveryControl(records, hold_margin=30.0, monotonic=monotonic)
    return Setting(store, db, org.id, records, control, monotonic, CollectorRegistry())


async def recorded(at: Setting, count: int = 1, *, org: bool = True, **config: Any) -> list[str]:
    workflow = validate_workflow(workflow_of(step(**config)))
    org_id = at.org_id if org else None
    runs = [new_run(workflow, {}, now=DB_START, org_id=org_id) for _ in range(count)]
    for run in runs:
        await at.store.create_run(run)
    return [run.id for run in runs]


async def claim(store: MemoryStore) -> Claim:
    (claimed,) = await store.claim_due(lease_seconds=30, limit=1)
    return claimed


async def only_step(store: MemoryStore, run_id: str) -> StoredStepRun:
    (found,) = (await store.get_run(run_id)).steps
    return found
