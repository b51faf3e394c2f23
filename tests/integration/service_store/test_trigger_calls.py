"""Trigger calls: kept under their idempotency key, unique per organization, listed newest first."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError

from callout.store import SqlStore
from callout.store.organizations import Organization
from callout.store.trigger_calls import (
    TriggerCall,
    find_call,
    list_calls,
    record_call,
    start_runs_once,
)
from integration.service_store.seeds import T0, service_run


async def record(
    store: SqlStore,
    org: Organization,
    *,
    now: float,
    key: str | None = None,
    workflow_id: str | None = "wfl_1",
    response: Any = None,
) -> TriggerCall:
    return await store.write(
        record_call,
        org_id=org.id,
        workflow_id=workflow_id,
        event=None,
        idempotency_key=key,
        fingerprint="f" * 64,
        status_code=202,
        response=response if response is not None else {"runs": [f"wfr_{now}"]},
        now=now,
    )


async def test_a_call_with_a_key_is_found_by_it(store: SqlStore, org_a: Organization) -> None:
    recorded = await record(store, org_a, now=T0, key="order-17", response={"runs": ["wfr_1"]})
    assert recorded.id.startswith("trg_")
    assert (recorded.workflow_id, recorded.event, recorded.idempotency_key) == (
        "wfl_1",
        None,
        "order-17",
    )
    assert (recorded.fingerprint, recorded.status_code, recorded.created_at) == ("f" * 64, 202, T0)
    assert recorded.response == {"runs": ["wfr_1"]}
    found = await store.read(find_call, org_id=org_a.id, idempotency_key="order-17")
    assert found == recorded
    assert await store.read(find_call, org_id=org_a.id, idempotency_key="order-18") is None


async def test_the_same_key_in_another_organization_is_another_call(
    store: SqlStore, org_a: Organization, org_b: Organization
) -> None:
    mine = await record(store, org_a, now=T0, key="order-17", response={"org": "a"})
    assert await store.read(find_call, org_id=org_b.id, idempotency_key="order-17") is None
    theirs = await record(store, org_b, now=T0 + 1, key="order-17", response={"org": "b"})
    assert await store.read(find_call, org_id=org_a.id, idempotency_key="order-17") == mine
    assert await store.read(find_call, org_id=org_b.id, idempotency_key="order-17") == theirs
    assert mine.id != theirs.id


async def test_a_key_is_refused_a_second_record_in_its_organization(
    store: SqlStore, org_a: Organization
) -> None:
    first = await record(store, org_a, now=T0, key="order-17", response={"first": True})
    with pytest.raises(IntegrityError):
        await record(store, org_a, now=T0 + 1, key="order-17", response={"first": False})
    assert await store.read(find_call, org_id=org_a.id, idempotency_key="order-17") == first
    assert await store.read(list_calls, org_id=org_a.id) == [first]


async def test_calls_without_a_key_are_all_kept(store: SqlStore, org_a: Organization) -> None:
    first = await record(store, org_a, now=T0)
    second = await record(store, org_a, now=T0 + 1)
    assert await store.read(list_calls, org_id=org_a.id) == [second, first]


async def test_calls_are_listed_newest_first_by_workflow_and_organization(
    store: SqlStore, org_a: Organization, org_b: Organization
) -> None:
    oldest = await record(store, org_a, now=T0, workflow_id="wfl_1")
    middle = await record(store, org_a, now=T0 + 1, workflow_id="wfl_2")
    newest = await record(store, org_a, now=T0 + 2, workflow_id="wfl_1")
    await record(store, org_b, now=T0 + 3, workflow_id="wfl_1")
    assert await store.read(list_calls, org_id=org_a.id) == [newest, middle, oldest]
    assert await store.read(list_calls, org_id=org_a.id, workflow_id="wfl_1") == [newest, oldest]
    assert await store.read(list_calls, org_id=org_a.id, limit=1) == [newest]
    assert await store.read(list_calls, org_id=org_a.id, before_id=middle.id) == [oldest]


async def test_a_repeated_key_replays_the_first_call_and_starts_nothing(
    store: SqlStore, org_a: Organization
) -> None:
    run = service_run(now=T0, org_id=org_a.id)
    call, replayed = await store.write(
        start_runs_once,
        org_id=org_a.id,
        runs=[run],
        workflow_id=None,
        event="signup",
        idempotency_key="order-17",
        fingerprint="f" * 64,
        status_code=202,
        response={"runs": [run.id]},
        call_id="trg_first",
        now=T0,
    )
    assert (call.id, call.event, replayed) == ("trg_first", "signup", False)
    again = service_run(now=T0 + 1, org_id=org_a.id)
    repeat, replayed = await store.write(
        start_runs_once,
        org_id=org_a.id,
        runs=[again],
        workflow_id=None,
        event="signup",
        idempotency_key="order-17",
        fingerprint="f" * 64,
        status_code=202,
        response={"runs": [again.id]},
        call_id="trg_second",
        now=T0 + 1,
    )
    assert (repeat, replayed) == (call, True)
    assert [r.id for r in await store.list_runs()] == [run.id]
    assert (await store.get_run(run.id)).org_id == org_a.id
