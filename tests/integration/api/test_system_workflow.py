"""The system workflow of run events through the API: readable, its runs listed, never changed."""

from __future__ import annotations

from dataclasses import replace

from callout.engine.notification_runs import notification_run
from callout.store.run_events import (
    SYSTEM_WORKFLOW_NAME,
    EndpointFormat,
    EventType,
    RunEvent,
)
from support.api_clients import Service, document, error_of

URL = "https://hooks.example.com/ops"


async def test_the_system_workflow_is_read_and_its_runs_listed_but_every_change_is_409(
    sqlite_service: Service,
) -> None:
    store = sqlite_service.store
    acme = await sqlite_service.org()
    system_id = await store.run_events.system_workflow_id(org_id=acme.id)
    event = RunEvent("evt_1", acme.id, EventType.RUN_COMPLETED, 0.0, run_id="wfr_1")
    to = await store.run_events.create_endpoint(
        org_id=acme.id,
        name="ops",
        url=URL,
        events=(EventType.RUN_COMPLETED,),
        body_format=EndpointFormat.CALLOUT,
        secret_name="notify_ops",
    )
    told = replace(notification_run(event, to), workflow_id=system_id)
    await store.create_run(told)

    shown = await acme.ok("GET", f"/v1/workflows/{system_id}")
    assert (shown["name"], shown["live_version"], shown["draft_version"]) == (
        SYSTEM_WORKFLOW_NAME,
        None,
        None,
    )
    listed = await acme.ok("GET", "/v1/runs", params={"workflow_id": system_id})
    assert [run["id"] for run in listed["data"]] == [told.id]

    for method, path, body in [
        ("PUT", "draft", {"document": document(URL)}),
        ("POST", "publish", None),
        ("POST", "archive", None),
        ("POST", "unarchive", None),
    ]:
        response = await acme.client.request(method, f"/v1/workflows/{system_id}/{path}", json=body)
        error = error_of(response, 409, "conflict")
        assert "callout's workflow of run events" in error["message"], (path, error)
    refused = await acme.client.post(
        f"/v1/workflows/{system_id}/trigger", json={"payload": {"id": "x"}}
    )
    error = error_of(refused, 409, "system_workflow")
    assert "cannot be edited, published, archived or triggered" in error["message"]
    assert (await acme.ok("GET", f"/v1/workflows/{system_id}"))["status"] == "draft"
