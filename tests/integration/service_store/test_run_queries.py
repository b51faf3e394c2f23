"""Runs as the service lists them: by organization, workflow, status and time, paged by cursor.

The contract runs on SQLite, PostgreSQL and in memory (`service_store`).
"""

from __future__ import annotations

import pytest

from callout.model.clock import ManualClock
from callout.store import NewRun, Store, UnknownRunError
from callout.store.account_records import Organization
from callout.store.protocol import RunFilter, RunInput, StoredRun
from callout.store.service import ServiceStore
from integration.service_store.seeds import T0, published_workflow, service_run, set_time


async def start(store: Store, clock: ManualClock, run: NewRun, now: float) -> NewRun:
    set_time(clock, now)  # the run is created at `now` by the database's clock
    await store.create_run(run)
    return run


def newest_first(runs: list[StoredRun]) -> list[str]:
    return [run.id for run in sorted(runs, key=lambda r: (r.created_at, r.id), reverse=True)]


async def test_a_service_run_names_its_organization_workflow_and_version(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization
) -> None:
    workflow = await published_workflow(service_store, org_id=acme.id, name="Live", now=T0)
    version_id = workflow.live_version_id
    assert version_id is not None
    run = await start(
        service_store,
        db_clock,
        service_run(now=T0, org_id=acme.id, workflow_id=workflow.id, version_id=version_id),
        T0,
    )
    stored = await service_store.get_run(run.id)
    assert (stored.org_id, stored.workflow_id, stored.version_id) == (
        acme.id,
        workflow.id,
        version_id,
    )
    # The run reads its version's document (published versions never change).
    assert stored.document == {"name": "Live"}
    assert await service_store.run_input(run.id) == RunInput(
        document={"name": "Live"}, trigger={"run": run.id}, org_id=acme.id, version_id=version_id
    )


async def test_a_run_of_no_organization_has_none(
    service_store: ServiceStore, db_clock: ManualClock
) -> None:
    run = await start(service_store, db_clock, service_run(now=T0), T0)
    stored = await service_store.get_run(run.id)
    assert (stored.org_id, stored.workflow_id, stored.version_id) == (None, None, None)
    assert (await service_store.run_input(run.id)).org_id is None
    with pytest.raises(UnknownRunError):
        await service_store.run_input("wfr_unknown")


async def test_runs_are_filtered_by_organization_and_workflow(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization, bravo: Organization
) -> None:
    one = await start(
        service_store, db_clock, service_run(now=T0, org_id=acme.id, workflow_id="wfl_1"), T0
    )
    two = await start(
        service_store,
        db_clock,
        service_run(now=T0 + 1, org_id=acme.id, workflow_id="wfl_2"),
        T0 + 1,
    )
    three = await start(
        service_store,
        db_clock,
        service_run(now=T0 + 2, org_id=acme.id, workflow_id="wfl_1"),
        T0 + 2,
    )
    theirs = await start(
        service_store,
        db_clock,
        service_run(now=T0 + 3, org_id=bravo.id, workflow_id="wfl_1"),
        T0 + 3,
    )

    async def ids(where: RunFilter) -> list[str]:
        return [run.id for run in await service_store.list_runs(where=where)]

    assert await ids(RunFilter(org_id=acme.id)) == [three.id, two.id, one.id]
    assert await ids(RunFilter(org_id=bravo.id)) == [theirs.id]
    assert await ids(RunFilter(org_id=acme.id, workflow_id="wfl_1")) == [three.id, one.id]
    assert await ids(RunFilter(workflow_id="wfl_1")) == [theirs.id, three.id, one.id]
    listed = await service_store.list_runs(where=RunFilter(org_id=bravo.id))
    assert (listed[0].org_id, listed[0].workflow_id, listed[0].steps) == (bravo.id, "wfl_1", ())


async def test_runs_are_filtered_by_status(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization
) -> None:
    pending = await start(service_store, db_clock, service_run(now=T0, org_id=acme.id), T0)
    cancelled = await start(
        service_store, db_clock, service_run(now=T0 + 1, org_id=acme.id), T0 + 1
    )
    running = await start(service_store, db_clock, service_run(now=T0 + 2, org_id=acme.id), T0 + 2)
    set_time(db_clock, T0 + 3)
    await service_store.cancel(cancelled.id)
    await service_store.claim_due(lease_seconds=30, limit=10, run_id=running.id)

    async def ids(status: str) -> list[str]:
        return [run.id for run in await service_store.list_runs(where=RunFilter(status=status))]

    assert await ids("pending") == [pending.id]
    assert await ids("cancelled") == [cancelled.id]
    assert await ids("running") == [running.id]
    assert await ids("completed") == []
    assert [run.id for run in await service_store.list_runs(status="cancelled")] == [cancelled.id]


async def test_runs_are_filtered_by_a_time_window_from_after_up_to_before(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization
) -> None:
    store, org_a = service_store, acme
    runs = [
        await start(store, db_clock, service_run(now=T0 + i, org_id=org_a.id), T0 + i)
        for i in range(5)
    ]
    window = RunFilter(org_id=org_a.id, created_after=T0 + 1, created_before=T0 + 3)
    assert [run.id for run in await store.list_runs(where=window)] == [runs[2].id, runs[1].id]
    since = RunFilter(created_after=T0 + 4)
    assert [run.id for run in await store.list_runs(where=since)] == [runs[4].id]
    until = RunFilter(created_before=T0 + 1)
    assert [run.id for run in await store.list_runs(where=until)] == [runs[0].id]


async def test_pages_by_cursor_cover_every_run_once(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization, bravo: Organization
) -> None:
    store, org_a, org_b = service_store, acme, bravo
    # Three runs share one created_at, so the cursor must break ties by id.
    times = [T0, T0 + 1, T0 + 1, T0 + 1, T0 + 2]
    for at in times:
        await start(store, db_clock, service_run(now=at, org_id=org_a.id), at)
        await start(store, db_clock, service_run(now=at + 0.5, org_id=org_b.id), at + 0.5)
    everything = await store.list_runs(where=RunFilter(org_id=org_a.id), limit=100)
    assert len(everything) == 5
    assert [run.id for run in everything] == newest_first(everything)

    pages: list[list[str]] = []
    cursor: str | None = None
    for _ in range(3):
        page = await store.list_runs(where=RunFilter(org_id=org_a.id, before_id=cursor), limit=2)
        pages.append([run.id for run in page])
        cursor = page[-1].id
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [run_id for page in pages for run_id in page] == [run.id for run in everything]
    after_last = await store.list_runs(where=RunFilter(org_id=org_a.id, before_id=cursor), limit=2)
    assert after_last == []
