"""Organizations are isolated: another organization's ids answer 404, never 403, never data."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from callout.model.ids import new_id
from callout.model.plans import Plan
from support.api_clients import Org, Service, document
from support.https_servers import HttpsServer


@dataclass(frozen=True, slots=True)
class Holdings:
    """What organization A made: the ids B will try."""

    workflow_id: str
    version_id: str
    draft_workflow_id: str
    run_id: str
    trigger_call_id: str
    secret_name: str
    key_id: str


async def holdings_of(org: Org, url: str, tag: str) -> Holdings:
    """Make a published workflow with a pending run, a draft workflow and a secret.

    `tag` marks the secret's name and value and the run's payload as this org's.
    """
    secret_name = f"{tag}_only"
    created = await org.ok("POST", "/v1/workflows", 201, json={"document": document(url)})
    workflow_id = created["workflow"]["id"]
    await org.ok("POST", f"/v1/workflows/{workflow_id}/publish")
    started = await org.ok(
        "POST", f"/v1/workflows/{workflow_id}/trigger", 202, json={"payload": {"id": f"inq_{tag}"}}
    )
    draft = await org.ok("POST", "/v1/workflows", 201, json={"document": document(url)})
    await org.ok(
        "POST", "/v1/secrets", 201, json={"name": secret_name, "value": f"{secret_name}-value"}
    )
    [key] = await org.ok("GET", "/v1/api-keys")
    return Holdings(
        workflow_id=workflow_id,
        version_id=created["draft"]["id"],
        draft_workflow_id=draft["workflow"]["id"],
        run_id=started["run_id"],
        trigger_call_id=started["trigger_call_id"],
        secret_name=secret_name,
        key_id=key["id"],
    )


def requests_for(a: Holdings, b_workflow_id: str) -> list[tuple[str, str, Any]]:
    """Every request that names one of A's resources: (method, path, JSON body)."""
    wf = f"/v1/workflows/{a.workflow_id}"
    draft = {"document": document("https://b.test/taken")}
    return [
        ("GET", wf, None),
        ("GET", f"/v1/workflows/{a.draft_workflow_id}", None),
        ("PUT", f"{wf}/draft", draft),
        ("PUT", f"/v1/workflows/{a.draft_workflow_id}/draft", draft),
        ("POST", f"{wf}/publish", None),
        ("POST", f"/v1/workflows/{a.draft_workflow_id}/publish", None),
        ("POST", f"{wf}/archive", None),
        ("POST", f"{wf}/unarchive", None),
        ("GET", f"{wf}/versions", None),
        ("GET", f"{wf}/versions/{a.version_id}", None),
        ("GET", f"{wf}/versions/live", None),
        ("GET", f"/v1/workflows/{a.draft_workflow_id}/versions/draft", None),
        # A's version id under B's own workflow is not B's either.
        ("GET", f"/v1/workflows/{b_workflow_id}/versions/{a.version_id}", None),
        (
            "POST",
            f"/v1/workflows/{b_workflow_id}/steps/create_user/test",
            {"version": a.version_id},
        ),
        ("POST", f"{wf}/trigger", {"payload": {"id": "inq_b"}}),
        ("POST", f"{wf}/steps/create_user/test", {"trigger": {"id": "inq_b"}}),
        ("POST", f"{wf}/steps/create_user/test", {"version": a.version_id}),
        ("GET", f"/v1/runs/{a.run_id}", None),
        ("POST", f"/v1/runs/{a.run_id}/resume", None),
        ("POST", f"/v1/runs/{a.run_id}/cancel", None),
        ("GET", f"/v1/secrets/{a.secret_name}", None),
        ("POST", f"/v1/secrets/{a.secret_name}/rotate", {"value": "b-value"}),
        ("DELETE", f"/v1/secrets/{a.secret_name}", None),
        ("DELETE", f"/v1/api-keys/{a.key_id}", None),
    ]


async def test_another_organizations_lists_show_none_of_its_resources(
    service: Service, https_server: HttpsServer
) -> None:
    a_org = await service.org("A")
    b_org = await service.org("B")
    a = await holdings_of(a_org, https_server.url("/a"), "a")
    b = await holdings_of(b_org, https_server.url("/b"), "b")
    [a_secret] = await a_org.ok("GET", "/v1/secrets")
    a_marks = [
        a.workflow_id,
        a.draft_workflow_id,
        a.version_id,
        a.run_id,
        a.trigger_call_id,
        a.key_id,
        a_secret["id"],
        "a_only",
        "inq_a",
    ]

    workflows = await b_org.ok("GET", "/v1/workflows")
    runs = await b_org.ok("GET", "/v1/runs")
    secrets = await b_org.ok("GET", "/v1/secrets")
    calls = await b_org.ok("GET", "/v1/trigger-calls")
    keys = await b_org.ok("GET", "/v1/api-keys")

    assert {w["id"] for w in workflows["data"]} == {b.workflow_id, b.draft_workflow_id}
    assert [r["id"] for r in runs["data"]] == [b.run_id]
    assert [s["name"] for s in secrets] == ["b_only"]
    assert [c["id"] for c in calls["data"]] == [b.trigger_call_id]
    assert [k["id"] for k in keys] == [b.key_id]
    listed = json.dumps([workflows, runs, secrets, calls, keys])
    for mark in a_marks:
        assert mark not in listed
    by_workflow = await b_org.ok("GET", "/v1/runs", params={"workflow_id": a.workflow_id})
    assert by_workflow["data"] == []
    calls_for_a = await b_org.ok("GET", "/v1/trigger-calls", params={"workflow_id": a.workflow_id})
    assert calls_for_a["data"] == []


async def test_another_organizations_ids_answer_404_and_leave_its_resources_unchanged(
    service: Service, https_server: HttpsServer
) -> None:
    a_org = await service.org("A")
    # B is on a plan without HTTPS requests: a plan check must not answer 403 before 404.
    b_org = await service.org("B", Plan.STARTUP)
    a = await holdings_of(a_org, https_server.url("/a"), "a")
    b_workflow = await b_org.ok(
        "POST", "/v1/workflows", 201, json={"document": document("https://b.test/")}
    )
    before = {
        "workflow": await a_org.ok("GET", f"/v1/workflows/{a.workflow_id}"),
        "draft": await a_org.ok("GET", f"/v1/workflows/{a.draft_workflow_id}/versions/draft"),
        "versions": await a_org.ok("GET", f"/v1/workflows/{a.workflow_id}/versions"),
        "run": await a_org.ok("GET", f"/v1/runs/{a.run_id}"),
        "secret": await a_org.ok("GET", f"/v1/secrets/{a.secret_name}"),
        "keys": await a_org.ok("GET", "/v1/api-keys"),
    }

    unknown = {
        a.workflow_id: new_id("wfl"),
        a.draft_workflow_id: new_id("wfl"),
        a.version_id: new_id("wflv"),
        a.run_id: new_id("wfr"),
        a.key_id: new_id("key"),
        a.secret_name: "never_made",
    }

    def as_unknown(text: str) -> str:
        for mine, other in unknown.items():
            text = text.replace(mine, other)
        return text

    for method, path, body in requests_for(a, b_workflow["workflow"]["id"]):
        response = await b_org.client.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.text)
        error = response.json()["error"]
        assert error["code"] == "not_found", (method, path, error)
        assert "a_only-value" not in response.text
        assert "inq_a" not in response.text
        # Indistinguishable from an id nobody has: the answer says nothing of A's resource.
        never = await b_org.client.request(
            method, as_unknown(path), json=json.loads(as_unknown(json.dumps(body)))
        )
        assert json.loads(as_unknown(response.text)) == never.json(), (method, path)

    after = {
        "workflow": await a_org.ok("GET", f"/v1/workflows/{a.workflow_id}"),
        "draft": await a_org.ok("GET", f"/v1/workflows/{a.draft_workflow_id}/versions/draft"),
        "versions": await a_org.ok("GET", f"/v1/workflows/{a.workflow_id}/versions"),
        "run": await a_org.ok("GET", f"/v1/runs/{a.run_id}"),
        "secret": await a_org.ok("GET", f"/v1/secrets/{a.secret_name}"),
        "keys": await a_org.ok("GET", "/v1/api-keys"),
    }
    # last_used_at of A's key moves with A's own reads; everything else must be as it was.
    for key in before["keys"] + after["keys"]:
        key.pop("last_used_at")
    assert after == before
    assert after["workflow"]["status"] == "published"
    assert after["run"]["status"] == "pending"
    assert after["secret"]["version"] == 1
    assert [k["revoked_at"] for k in after["keys"]] == [None]
    assert https_server.hits == []
    calls = await a_org.ok("GET", "/v1/trigger-calls")
    assert [c["id"] for c in calls["data"]] == [a.trigger_call_id]


async def test_an_idempotency_key_belongs_to_the_organization_that_used_it(
    service: Service, https_server: HttpsServer
) -> None:
    a_org = await service.org("A")
    b_org = await service.org("B")
    a = await holdings_of(a_org, https_server.url("/a"), "a")
    b = await holdings_of(b_org, https_server.url("/b"), "b")
    headers = {"Idempotency-Key": "order-1"}
    body = {"payload": {"id": "inq_1"}}
    a_first = await a_org.client.post(
        f"/v1/workflows/{a.workflow_id}/trigger", json=body, headers=headers
    )
    assert a_first.status_code == 202

    b_first = await b_org.client.post(
        f"/v1/workflows/{b.workflow_id}/trigger", json=body, headers=headers
    )
    b_again = await b_org.client.post(
        f"/v1/workflows/{b.workflow_id}/trigger", json=body, headers=headers
    )

    assert b_first.status_code == 202
    assert "Idempotent-Replayed" not in b_first.headers
    assert b_first.json()["workflow_id"] == b.workflow_id
    assert b_first.json()["run_id"] != a_first.json()["run_id"]
    assert b_again.status_code == 202
    assert b_again.headers["Idempotent-Replayed"] == "true"
    assert b_again.json() == b_first.json()
    a_runs = await a_org.ok("GET", "/v1/runs")
    assert {r["id"] for r in a_runs["data"]} == {a.run_id, a_first.json()["run_id"]}
    b_runs = await b_org.ok("GET", "/v1/runs")
    assert {r["id"] for r in b_runs["data"]} == {b.run_id, b_first.json()["run_id"]}
