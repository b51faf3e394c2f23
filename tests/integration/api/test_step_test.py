"""Testing a step over the API: one real attempt against sample data, nothing stored."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from callout.signing import verify
from support.api_clients import Org, Service, document, error_of
from support.https_servers import HttpsServer, reply

ANSWER_FIELDS = {"outcome", "duration_ms", "request", "response", "error", "retryable", "output"}


def headers_of(pairs: list[list[str]]) -> dict[str, str]:
    """Recorded [name, value] pairs as a dict with lower-case names."""
    return {name.lower(): value for name, value in pairs}


async def draft(org: Org, doc: dict[str, Any]) -> str:
    """Create a workflow whose draft is `doc`; return its id."""
    created = await org.ok("POST", "/v1/workflows", 201, json={"document": doc})
    return str(created["workflow"]["id"])


async def step_test(
    org: Org, workflow_id: str, step_id: str = "create_user", **body: Any
) -> httpx.Response:
    """Ask for one attempt of the step."""
    return await org.client.post(f"/v1/workflows/{workflow_id}/steps/{step_id}/test", json=body)


async def one_attempt(org: Org, workflow_id: str, step_id: str = "create_user", **body: Any) -> Any:
    """Test the step; assert 200; return the answer."""
    response = await step_test(org, workflow_id, step_id, **body)
    assert response.status_code == 200, response.text
    return response.json()


async def test_testing_a_draft_step_makes_one_real_attempt_and_returns_it_redacted(
    service: Service, https_server: HttpsServer
) -> None:
    https_server.script("/users", reply(201, '{"id": "u_1"}', headers={"X-Request-Id": "r-1"}))
    acme = await service.org()
    await acme.ok("POST", "/v1/secrets", 201, json={"name": "sig", "value": "sig-value-1"})
    await acme.ok("POST", "/v1/secrets", 201, json={"name": "tok", "value": "tok-value-1"})
    doc = document(
        https_server.url("/users"),
        secret="{{ secrets.sig }}",
        headers=[
            {"key": "Authorization", "value": "Bearer {{ secrets.tok }}"},
            {"key": "X-Token", "value": "{{ secrets.tok }}"},
        ],
    )
    workflow_id = await draft(acme, doc)

    response = await step_test(acme, workflow_id, trigger={"id": "inq_sample"})

    assert response.status_code == 200, response.text
    answer = response.json()
    assert set(answer) == ANSWER_FIELDS
    assert answer["outcome"] == "succeeded"
    assert isinstance(answer["duration_ms"], int)
    assert 0 <= answer["duration_ms"] <= 5000
    assert answer["error"] is None
    assert answer["retryable"] is False
    [hit] = https_server.hits_on("/users")
    assert hit.body == b'{"inquiry":"inq_sample"}'
    assert hit.headers["Authorization"] == "Bearer tok-value-1"
    assert hit.headers["X-Token"] == "tok-value-1"
    assert verify(hit.headers["Persona-Signature"], hit.body, "sig-value-1")
    request = answer["request"]
    assert request["method"] == "POST"
    assert request["url"] == https_server.url("/users")
    assert request["body"] == '{"inquiry":"inq_sample"}'
    sent = headers_of(request["headers"])
    assert sent["authorization"] == "Bearer [redacted]"
    assert sent["x-token"] == "[redacted]"
    assert sent["persona-signature"] == hit.headers["Persona-Signature"]
    assert sent["idempotency-key"] == hit.headers["Idempotency-Key"]
    assert sent["idempotency-key"].startswith("stp_")
    assert sent["callout-attempt"] == "1"
    assert sent["content-type"] == "application/json"
    assert answer["response"]["status"] == 201
    assert json.loads(answer["response"]["body"]) == {"id": "u_1"}
    assert answer["response"]["body_truncated"] is False
    assert headers_of(answer["response"]["headers"])["x-request-id"] == "r-1"
    assert answer["output"]["status"] == 201
    assert answer["output"]["body"] == {"id": "u_1"}
    assert answer["output"]["headers"]["x-request-id"] == "r-1"
    assert "sig-value-1" not in response.text
    assert "tok-value-1" not in response.text
    assert await acme.ok("GET", "/v1/runs") == {"data": [], "next_cursor": None}
    assert (await acme.ok("GET", "/v1/trigger-calls"))["data"] == []


async def test_a_step_test_signs_with_both_values_while_a_rotation_is_in_its_grace(
    service: Service, https_server: HttpsServer
) -> None:
    acme = await service.org()
    await acme.ok("POST", "/v1/secrets", 201, json={"name": "sig", "value": "old-sig"})
    await acme.ok("POST", "/v1/secrets/sig/rotate", json={"value": "new-sig"})
    workflow_id = await draft(
        acme, document(https_server.url("/users"), secret="{{ secrets.sig }}")
    )

    answer = await one_attempt(acme, workflow_id, trigger={"id": "inq_1"})

    assert answer["outcome"] == "succeeded"
    [hit] = https_server.hits_on("/users")
    newest, previous = hit.headers["Persona-Signature"].split(" ")
    assert verify(newest, hit.body, "new-sig")
    assert verify(previous, hit.body, "old-sig")
    assert "old-sig" not in json.dumps(answer)
    assert "new-sig" not in json.dumps(answer)


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (503, True), (404, False)])
async def test_a_failed_attempt_is_reported_once_with_whether_a_run_would_retry_it(
    service: Service, https_server: HttpsServer, status: int, retryable: bool
) -> None:
    https_server.script("/users", reply(status, '{"why": "no"}'))
    acme = await service.org()
    workflow_id = await draft(acme, document(https_server.url("/users"), retry_intervals=[1, 1]))

    answer = await one_attempt(acme, workflow_id, trigger={"id": "inq_1"})

    assert answer["outcome"] == "failed"
    assert answer["retryable"] is retryable
    assert answer["error"]["type"] == "http_status"
    assert answer["error"]["status"] == status
    assert answer["error"]["body"] == {"why": "no"}
    assert str(status) in answer["error"]["message"]
    assert answer["response"]["status"] == status
    assert answer["request"]["method"] == "POST"
    assert answer["output"] is None
    assert len(https_server.hits_on("/users")) == 1
    assert (await acme.ok("GET", "/v1/runs"))["data"] == []


async def test_a_later_step_is_tested_with_sample_outputs_of_earlier_steps(
    service: Service, https_server: HttpsServer
) -> None:
    acme = await service.org()
    doc = document(https_server.url("/first"))
    doc["steps"].append(
        {
            "id": "second",
            "action": "make_https_request",
            "url": https_server.url("/users/{{ steps.create_user.body.id }}"),
            "body": {"inquiry": "{{ trigger.id }}", "status": "{{ steps.create_user.status }}"},
        }
    )
    workflow_id = await draft(acme, doc)

    answer = await one_attempt(
        acme,
        workflow_id,
        "second",
        trigger={"id": "inq_2"},
        steps={"create_user": {"status": 200, "headers": {}, "body": {"id": "u_9"}}},
    )

    assert answer["outcome"] == "succeeded"
    [hit] = https_server.hits
    assert hit.path == "/users/u_9"
    assert json.loads(hit.body) == {"inquiry": "inq_2", "status": 200}
    assert answer["request"]["url"] == https_server.url("/users/u_9")
    assert https_server.hits_on("/first") == []


async def test_a_later_step_without_the_sample_it_reads_fails_unresolved_without_sending(
    service: Service, https_server: HttpsServer
) -> None:
    acme = await service.org()
    doc = document(https_server.url("/first"))
    doc["steps"].append(
        {
            "id": "second",
            "action": "make_https_request",
            "url": https_server.url("/users/{{ steps.create_user.body.id }}"),
        }
    )
    workflow_id = await draft(acme, doc)

    answer = await one_attempt(acme, workflow_id, "second", trigger={"id": "inq_2"})

    assert answer["outcome"] == "failed"
    assert answer["error"]["type"] == "unresolved_reference"
    assert answer["retryable"] is False
    assert answer["request"] is None
    assert https_server.hits == []


async def test_an_unknown_step_answers_404(service: Service, https_server: HttpsServer) -> None:
    acme = await service.org()
    workflow_id = await draft(acme, document(https_server.url("/users")))

    response = await step_test(acme, workflow_id, "no_such_step", trigger={"id": "inq_1"})

    assert "no_such_step" in error_of(response, 404, "not_found")["message"]
    assert https_server.hits == []


async def test_an_unknown_workflow_or_version_answers_404(
    service: Service, https_server: HttpsServer
) -> None:
    acme = await service.org()
    workflow_id = await draft(acme, document(https_server.url("/users")))

    unknown = await step_test(acme, "wfl_0000000000ZZZZZZZZZZZZZZZZ", trigger={"id": "inq_1"})
    not_live = await step_test(acme, workflow_id, trigger={"id": "inq_1"}, version="live")

    error_of(unknown, 404, "not_found")
    error_of(not_live, 404, "not_found")
    assert https_server.hits == []


async def test_an_invalid_draft_is_refused_422_listing_its_problems(
    service: Service, https_server: HttpsServer
) -> None:
    acme = await service.org()
    doc = document(https_server.url("/users"), secret="{{ secrets.missing }}", timeout=0)
    workflow_id = await draft(acme, doc)

    response = await step_test(acme, workflow_id, trigger={"id": "inq_1"})

    error = error_of(response, 422, "invalid_document")
    paths = sorted(d["path"] for d in error["details"])
    assert paths == ["steps[0].secret", "steps[0].timeout"]
    assert "missing" in next(d["message"] for d in error["details"] if "secret" in d["path"])
    assert https_server.hits == []


async def test_the_live_version_or_a_version_id_may_be_tested_instead_of_the_draft(
    service: Service, https_server: HttpsServer
) -> None:
    acme = await service.org()
    workflow_id = await draft(acme, document(https_server.url("/live")))
    live = await acme.ok("POST", f"/v1/workflows/{workflow_id}/publish")
    await acme.ok(
        "PUT",
        f"/v1/workflows/{workflow_id}/draft",
        json={"document": document(https_server.url("/draft"))},
    )

    from_live = await one_attempt(acme, workflow_id, trigger={"id": "inq_1"}, version="live")
    from_draft = await one_attempt(acme, workflow_id, trigger={"id": "inq_2"})
    from_id = await one_attempt(acme, workflow_id, trigger={"id": "inq_3"}, version=live["id"])

    assert from_live["request"]["url"] == https_server.url("/live")
    assert from_draft["request"]["url"] == https_server.url("/draft")
    assert from_id["request"]["url"] == https_server.url("/live")
    assert [(hit.path, json.loads(hit.body)["inquiry"]) for hit in https_server.hits] == [
        ("/live", "inq_1"),
        ("/draft", "inq_2"),
        ("/live", "inq_3"),
    ]
    assert (await acme.ok("GET", "/v1/runs"))["data"] == []
