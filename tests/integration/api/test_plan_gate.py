"""The plan gate over the API: Make HTTPS Request is on the Growth and Enterprise plans only."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from callout.model.clock import SystemClock
from callout.model.plans import Plan
from support.api_clients import Org, Service, document
from support.https_servers import HttpsServer

GATED = pytest.mark.parametrize("plan", [Plan.STARTUP, Plan.ESSENTIAL])
EVENT = "inquiry.completed"


def assert_plan_refusal(body: Any, plan: Plan) -> None:
    """The 403 body names the action, the plans that have it and the org's plan."""
    error = body["error"]
    assert error["code"] == "plan_lacks_action"
    assert "Make HTTPS Request" in error["message"]
    assert "Growth and Enterprise" in error["message"]
    assert plan.value.capitalize() in error["message"]
    assert [detail["path"] for detail in error["details"]] == ["steps[0].action"]


async def draft_workflow(org: Org, url: str) -> dict[str, Any]:
    created: dict[str, Any] = await org.ok(
        "POST", "/v1/workflows", 201, json={"document": document(url)}
    )
    return created


@GATED
async def test_a_plan_without_https_requests_saves_drafts_but_cannot_publish_them(
    service: Service, https_server: HttpsServer, plan: Plan
) -> None:
    small = await service.org("Small", plan)
    created = await draft_workflow(small, https_server.url("/users"))
    workflow_id = created["workflow"]["id"]
    assert created["workflow"]["status"] == "draft"
    saved = await small.ok(
        "PUT",
        f"/v1/workflows/{workflow_id}/draft",
        json={"document": document(https_server.url("/users/v2"))},
    )
    assert saved["id"] == created["draft"]["id"]

    refused = await small.client.post(f"/v1/workflows/{workflow_id}/publish")

    assert refused.status_code == 403
    assert_plan_refusal(refused.json(), plan)
    workflow = await small.ok("GET", f"/v1/workflows/{workflow_id}")
    assert workflow["status"] == "draft"
    assert workflow["live_version"] is None


@GATED
async def test_a_plan_without_https_requests_cannot_test_the_step_and_nothing_is_sent(
    service: Service, https_server: HttpsServer, plan: Plan
) -> None:
    small = await service.org("Small", plan)
    workflow_id = (await draft_workflow(small, https_server.url("/users")))["workflow"]["id"]

    refused = await small.client.post(
        f"/v1/workflows/{workflow_id}/steps/create_user/test", json={"trigger": {"id": "inq_1"}}
    )

    assert refused.status_code == 403
    assert_plan_refusal(refused.json(), plan)
    assert https_server.hits == []


async def test_after_a_downgrade_triggers_and_events_are_refused_and_recorded(
    service: Service, https_server: HttpsServer
) -> None:
    acme = await service.org("Acme", Plan.GROWTH)
    workflow_id = (await draft_workflow(acme, https_server.url("/users")))["workflow"]["id"]
    await acme.ok("POST", f"/v1/workflows/{workflow_id}/publish")
    before = await acme.ok(
        "POST", f"/v1/workflows/{workflow_id}/trigger", 202, json={"payload": {"id": "inq_1"}}
    )

    await service.store.accounts.set_plan(
        org_id=acme.id, plan=Plan.STARTUP, now=SystemClock().now()
    )

    refused = await acme.client.post(
        f"/v1/workflows/{workflow_id}/trigger", json={"payload": {"id": "inq_2"}}
    )
    assert refused.status_code == 403
    assert_plan_refusal(refused.json(), Plan.STARTUP)
    event = await acme.ok(
        "POST", "/v1/events", 202, json={"name": EVENT, "payload": {"id": "inq_3"}}
    )
    assert event["event"] == EVENT
    assert event["runs"] == []
    [workflow_refusal] = event["refused"]
    assert workflow_refusal["workflow_id"] == workflow_id
    assert_plan_refusal({"error": workflow_refusal["error"]}, Plan.STARTUP)
    runs = await acme.ok("GET", "/v1/runs")
    assert [run["id"] for run in runs["data"]] == [before["run_id"]]

    calls = (await acme.ok("GET", "/v1/trigger-calls"))["data"]
    assert len(calls) == 3
    by_kind = {(call["workflow_id"], call["event"], call["status_code"]): call for call in calls}
    assert set(by_kind) == {(workflow_id, None, 202), (workflow_id, None, 403), (None, EVENT, 202)}
    accepted = by_kind[workflow_id, None, 202]
    assert accepted["id"] == before["trigger_call_id"]
    assert accepted["response"]["run_id"] == before["run_id"]
    refused_call = by_kind[workflow_id, None, 403]
    assert refused_call["response"] == refused.json()  # recorded as it was answered
    assert_plan_refusal(refused_call["response"], Plan.STARTUP)
    event_call = by_kind[None, EVENT, 202]
    assert event_call["id"] == event["trigger_call_id"]
    assert event_call["response"] == event
    assert https_server.hits == []

    # The run started before the downgrade still finishes.
    stop = asyncio.Event()
    working = asyncio.create_task(service.worker().run(stop))
    try:
        for _ in range(250):
            run = await acme.ok("GET", f"/v1/runs/{before['run_id']}")
            if run["status"] not in {"pending", "running"}:
                break
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await working
    assert run["status"] == "completed"
    [hit] = https_server.hits
    assert hit.body == b'{"inquiry":"inq_1"}'


@pytest.mark.parametrize(
    ("plan", "available"),
    [(Plan.STARTUP, False), (Plan.ESSENTIAL, False), (Plan.GROWTH, True), (Plan.ENTERPRISE, True)],
)
async def test_the_organization_and_actions_show_whether_the_plan_has_https_requests(
    service: Service, plan: Plan, available: bool
) -> None:
    org = await service.org("Planned", plan)
    expected = {
        "name": "make_https_request",
        "title": "Make HTTPS Request",
        "category": "Compute",
        "available": available,
        "plans": ["growth", "enterprise"],
    }

    organization = await org.ok("GET", "/v1/organization")
    actions = await org.ok("GET", "/v1/actions")

    assert organization["id"] == org.id
    assert organization["name"] == "Planned"
    assert organization["plan"] == plan.value
    assert organization["actions"] == [expected]
    assert actions == [expected]


async def test_a_call_refused_by_the_plan_may_be_retried_with_its_key_after_an_upgrade(
    service: Service, https_server: HttpsServer
) -> None:
    acme = await service.org("Acme", Plan.GROWTH)
    workflow_id = (await draft_workflow(acme, https_server.url("/users")))["workflow"]["id"]
    await acme.ok("POST", f"/v1/workflows/{workflow_id}/publish")
    await service.store.accounts.set_plan(
        org_id=acme.id, plan=Plan.ESSENTIAL, now=SystemClock().now()
    )
    trigger = f"/v1/workflows/{workflow_id}/trigger"
    body = {"payload": {"id": "inq_1"}}
    event = {"name": EVENT, "payload": {"id": "inq_2"}}

    refused = await acme.client.post(trigger, json=body, headers={"Idempotency-Key": "t-1"})
    refused_event = await acme.ok(
        "POST", "/v1/events", 202, json=event, headers={"Idempotency-Key": "e-1"}
    )
    assert refused.status_code == 403
    assert [r["error"]["code"] for r in refused_event["refused"]] == ["plan_lacks_action"]
    calls = (await acme.ok("GET", "/v1/trigger-calls"))["data"]
    assert [c["idempotency_key"] for c in calls] == [None, None]

    await service.store.accounts.set_plan(org_id=acme.id, plan=Plan.GROWTH, now=SystemClock().now())
    started = await acme.client.post(trigger, json=body, headers={"Idempotency-Key": "t-1"})
    started_event = await acme.ok(
        "POST", "/v1/events", 202, json=event, headers={"Idempotency-Key": "e-1"}
    )

    assert started.status_code == 202
    assert "Idempotent-Replayed" not in started.headers
    assert started.json()["workflow_id"] == workflow_id
    assert started_event["refused"] == []
    assert [r["workflow_id"] for r in started_event["runs"]] == [workflow_id]
    runs = (await acme.ok("GET", "/v1/runs"))["data"]
    assert {r["id"] for r in runs} == {started.json()["run_id"], started_event["runs"][0]["run_id"]}
    calls = (await acme.ok("GET", "/v1/trigger-calls"))["data"]
    assert sorted(str(c["idempotency_key"]) for c in calls) == ["None", "None", "e-1", "t-1"]


async def test_a_draft_lists_the_plan_refusal_among_the_problems_publishing_would_report(
    service: Service,
) -> None:
    # docs/service.md: a draft's `problems` are "what publishing would refuse, with paths";
    # the API describes the field as "empty: ready to publish".
    small = await service.org("Small", Plan.STARTUP)
    created = await draft_workflow(small, "https://api.test/users")
    workflow_id = created["workflow"]["id"]

    refused = await small.client.post(f"/v1/workflows/{workflow_id}/publish")

    assert refused.status_code == 403
    draft = await small.ok("GET", f"/v1/workflows/{workflow_id}/versions/draft")
    assert [p["path"] for p in created["draft"]["problems"]] == ["steps[0].action"]
    assert [p["path"] for p in draft["problems"]] == ["steps[0].action"]
