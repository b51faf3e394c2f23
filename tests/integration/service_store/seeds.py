"""What the service-store tests start from: organizations, published workflows, runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from callout.model.clock import ManualClock
from callout.model.ids import new_id
from callout.model.plans import Plan
from callout.store import NewRun, SqlStore
from callout.store.organizations import Organization, create_organization
from callout.store.workflows import WorkflowInfo, create_workflow, get_workflow, publish_draft

T0 = 1_800_000_000.0
"""Where the service-store tests' database clock (`db_clock`) starts."""


def set_time(clock: ManualClock, moment: float) -> None:
    """Set the database's time (the store's clock, `db_clock`) to `moment`."""
    clock.advance(moment - clock.now())


async def new_org(
    store: SqlStore, name: str, *, now: float, plan: Plan = Plan.GROWTH
) -> Organization:
    """Create an organization (its first key is dropped)."""
    org, _key = await store.write(create_organization, name=name, plan=plan, now=now)
    return org


def listening_to(event: str | None) -> Callable[[sa.Connection, Any], str | None]:
    """A publish check that accepts any document and subscribes it to `event`."""

    def check(conn: sa.Connection, document: Any) -> str | None:
        return event

    return check


async def published_workflow(
    store: SqlStore, *, org_id: str, name: str, now: float, event: str | None = None
) -> WorkflowInfo:
    """Create a workflow and publish its first version at once."""
    created = await store.write(
        create_workflow, org_id=org_id, name=name, document={"name": name}, by=None, now=now
    )
    await store.write(
        publish_draft,
        org_id=org_id,
        workflow_id=created.id,
        by=None,
        now=now,
        check=listening_to(event),
    )
    return await store.read(get_workflow, org_id=org_id, workflow_id=created.id)


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
