"""What the service-store tests start from: organizations, published workflows, runs."""

from __future__ import annotations

from callout.model.clock import ManualClock
from callout.model.ids import new_id
from callout.model.plans import Plan
from callout.store import NewRun
from callout.store.account_records import HoldsAccounts, Organization
from callout.store.service import ServiceStore
from callout.store.workflow_records import WorkflowInfo

T0 = 1_800_000_000.0
"""Where the service-store tests' database clock (`db_clock`) starts."""


def set_time(clock: ManualClock, moment: float) -> None:
    """Set the database's time (the store's clock, `db_clock`) to `moment`."""
    clock.advance(moment - clock.now())


async def new_org(
    store: HoldsAccounts, name: str, *, now: float, plan: Plan = Plan.GROWTH
) -> Organization:
    """Create an organization (its first key is dropped)."""
    org, _key = await store.accounts.create_organization(name=name, plan=plan, now=now)
    return org


async def published_workflow(
    store: ServiceStore, *, org_id: str, name: str, now: float, event: str | None = None
) -> WorkflowInfo:
    """Create a workflow and publish its first version at once, listening to `event`."""
    workflows = store.workflows
    document = {"name": name}
    created = await workflows.create_workflow(
        org_id=org_id, name=name, document=document, by=None, now=now
    )
    assert created.draft_version_id is not None
    await workflows.publish(
        org_id=org_id,
        workflow_id=created.id,
        draft_id=created.draft_version_id,
        checked=document,
        event=event,
        by=None,
        now=now,
    )
    return await workflows.get_workflow(org_id=org_id, workflow_id=created.id)


def service_run(
    *,
    now: float,
    org_id: str | None = None,
    workflow_id: str | None = None,
    version_id: str | None = None,
    steps: tuple[str, ...] = ("a",),
) -> NewRun:
    """A run as the service starts it: its id sorts by `now`, and it names its owners."""
    run_id = new_id("wfr", now=now)
    return NewRun(
        id=run_id,
        workflow_name="test",
        document={"name": "test"},
        trigger={"run": run_id},
        step_ids=steps,
        step_run_ids=tuple(new_id("stp", now=now) for _ in steps),
        org_id=org_id,
        workflow_id=workflow_id,
        version_id=version_id,
    )
