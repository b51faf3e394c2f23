"""Run activity: an organization's runs counted by workflow, hour and status, in one query.

The contract runs on SQLite, PostgreSQL and in memory (`service_store`): the same runs
count the same, in the same buckets, whatever the store (docs/dashboard.md, "Activity").
"""

from __future__ import annotations

from callout.model.clock import ManualClock
from callout.model.records import Decision
from callout.store.account_records import Organization
from callout.store.protocol import FinishedAttempt
from callout.store.run_reading import ActivityCount
from callout.store.service import ServiceStore
from integration.service_store.seeds import T0, service_run, set_time

HOUR = 3600


async def run_ending(
    store: ServiceStore,
    clock: ManualClock,
    *,
    org_id: str,
    workflow_id: str | None,
    at: float,
    ending: str,
) -> str:
    """Start a one-step run at `at` (database time) and end it: completed, failed, cancelled.

    `pending` leaves it as started.
    """
    set_time(clock, at)
    run = service_run(now=at, org_id=org_id, workflow_id=workflow_id)
    await store.create_run(run)
    if ending == "cancelled":
        await store.cancel(run.id)
    elif ending in {"completed", "failed"}:
        [claim] = await store.claim_due(lease_seconds=30, limit=1, run_id=run.id)
        succeeded = ending == "completed"
        await store.finish_attempt(
            claim,
            FinishedAttempt(
                attempt_id=claim.attempt_id,
                succeeded=succeeded,
                decision=Decision.SUCCEEDED if succeeded else Decision.ERRORED_FAIL,
                http_status=200 if succeeded else 500,
                output={"status": 200, "headers": {}, "body": None} if succeeded else None,
                error=None if succeeded else {"type": "http_status", "message": "500"},
            ),
        )
    assert (await store.run_status(run.id)) == ending
    return run.id


async def test_runs_are_counted_by_workflow_hour_and_status(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization, bravo: Organization
) -> None:
    since = T0 + 10 * HOUR
    plan = [
        ("wfl_A", since, "completed"),  # the window's first instant counts
        ("wfl_A", since + 60, "completed"),
        ("wfl_A", since + 120, "failed"),
        ("wfl_A", since + HOUR - 0.001, "failed"),  # still the first hour
        ("wfl_A", since + HOUR, "completed"),  # the second hour's first instant
        ("wfl_A", since + 5 * HOUR + 1, "pending"),
        ("wfl_B", since + 23 * HOUR + 10, "cancelled"),  # the last hour
        ("wfl_B", since + 23 * HOUR + 20, "failed"),
    ]
    outside = [
        ("wfl_A", since - 0.001, "completed"),  # before the window
        ("wfl_A", since + 24 * HOUR, "failed"),  # at its end: not in it
    ]
    for workflow_id, at, ending in sorted(plan + outside, key=lambda p: p[1]):
        await run_ending(
            service_store,
            db_clock,
            org_id=acme.id,
            workflow_id=workflow_id,
            at=at,
            ending=ending,
        )
    # Another organization's runs of a workflow id, and runs of no workflow, never count.
    await run_ending(
        service_store,
        db_clock,
        org_id=bravo.id,
        workflow_id="wfl_A",
        at=since + 30,
        ending="failed",
    )
    await run_ending(
        service_store, db_clock, org_id=acme.id, workflow_id=None, at=since + 40, ending="failed"
    )

    counted = await service_store.run_reading.activity(
        org_id=acme.id, since=since, bucket_seconds=HOUR, buckets=24
    )
    assert counted == [
        ActivityCount("wfl_A", 0, "completed", 2),
        ActivityCount("wfl_A", 0, "failed", 2),
        ActivityCount("wfl_A", 1, "completed", 1),
        ActivityCount("wfl_A", 5, "pending", 1),
        ActivityCount("wfl_B", 23, "cancelled", 1),
        ActivityCount("wfl_B", 23, "failed", 1),
    ]

    one = await service_store.run_reading.activity(
        org_id=acme.id, since=since, bucket_seconds=HOUR, buckets=24, workflow_id="wfl_B"
    )
    assert one == [
        ActivityCount("wfl_B", 23, "cancelled", 1),
        ActivityCount("wfl_B", 23, "failed", 1),
    ]
    theirs = await service_store.run_reading.activity(
        org_id=bravo.id, since=since, bucket_seconds=HOUR, buckets=24
    )
    assert theirs == [ActivityCount("wfl_A", 0, "failed", 1)]


async def test_no_runs_count_nothing_and_buckets_follow_their_size(
    service_store: ServiceStore, db_clock: ManualClock, acme: Organization
) -> None:
    since = T0 + HOUR
    assert (
        await service_store.run_reading.activity(
            org_id=acme.id, since=since, bucket_seconds=HOUR, buckets=24
        )
        == []
    )
    for minute in (0, 14, 15, 59):
        await run_ending(
            service_store,
            db_clock,
            org_id=acme.id,
            workflow_id="wfl_A",
            at=since + minute * 60,
            ending="completed",
        )
    quarters = await service_store.run_reading.activity(
        org_id=acme.id, since=since, bucket_seconds=15 * 60, buckets=4
    )
    assert quarters == [
        ActivityCount("wfl_A", 0, "completed", 2),
        ActivityCount("wfl_A", 1, "completed", 1),
        ActivityCount("wfl_A", 3, "completed", 1),
    ]
