"""Every error has one shape; invalid input lists every problem; bodies are capped."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from support.api_clients import Service, document, error_of

MIB = 1024 * 1024


async def test_requests_without_a_valid_api_key_get_401_in_the_error_shape(
    sqlite_service: Service,
) -> None:
    acme = await sqlite_service.org()
    spare = await acme.ok("POST", "/v1/api-keys", 201, json={"name": "spare"})
    spare_client = sqlite_service.client(spare["key"])
    assert (await spare_client.get("/v1/workflows")).status_code == 200
    await acme.ok("DELETE", f"/v1/api-keys/{spare['api_key']['id']}")

    no_key = await sqlite_service.client().get("/v1/workflows")
    bad_key = await sqlite_service.client("callout_not-a-key").get("/v1/workflows")
    revoked = await spare_client.get("/v1/workflows")

    assert error_of(no_key, 401, "unauthorized")["details"] == []
    assert error_of(bad_key, 401, "unauthorized")["details"] == []
    assert error_of(revoked, 401, "unauthorized")["message"] == "the API key is unknown or revoked"


async def test_unknown_routes_ids_and_methods_get_404_and_405_in_the_error_shape(
    sqlite_service: Service,
) -> None:
    acme = await sqlite_service.org()

    unknown_route = await acme.client.get("/v1/no-such-thing")
    unknown_workflow = await acme.client.get("/v1/workflows/wfl_01J0000000000000000000000")
    unknown_run = await acme.client.get("/v1/runs/wfr_01J0000000000000000000000")
    unknown_secret = await acme.client.get("/v1/secrets/nothing")
    wrong_method = await acme.client.delete("/v1/workflows")

    assert error_of(unknown_route, 404, "not_found")["details"] == []
    assert (
        "wfl_01J0000000000000000000000" in error_of(unknown_workflow, 404, "not_found")["message"]
    )
    assert "wfr_01J0000000000000000000000" in error_of(unknown_run, 404, "not_found")["message"]
    assert "nothing" in error_of(unknown_secret, 404, "not_found")["message"]
    error_of(wrong_method, 405, "method_not_allowed")


async def test_a_401_challenges_the_client_to_send_a_bearer_key(sqlite_service: Service) -> None:
    response = await sqlite_service.client().get("/v1/workflows")

    error_of(response, 401, "unauthorized")
    # RFC 9110 section 15.5.2: a 401 response MUST carry a WWW-Authenticate challenge.
    assert response.headers.get("www-authenticate", "").lower().startswith("bearer")


async def test_a_405_lists_every_method_the_path_answers_in_allow(
    sqlite_service: Service,
) -> None:
    acme = await sqlite_service.org()

    workflows = await acme.client.delete("/v1/workflows")
    secret = await acme.client.put("/v1/secrets/crm")

    # RFC 9110 section 15.5.6: Allow lists the target resource's supported methods.
    for response, methods in ((workflows, {"GET", "POST"}), (secret, {"GET", "DELETE"})):
        error_of(response, 405, "method_not_allowed")
        assert set(response.headers["allow"].split(", ")) == methods, response.headers["allow"]


async def test_a_state_conflict_gets_409_in_the_error_shape(sqlite_service: Service) -> None:
    acme = await sqlite_service.org()
    await acme.ok("POST", "/v1/secrets", 201, json={"name": "crm", "value": "one"})

    again = await acme.client.post("/v1/secrets", json={"name": "crm", "value": "two"})

    assert "crm" in error_of(again, 409, "conflict")["message"]


async def test_invalid_input_gets_422_listing_every_problem_with_its_path(
    sqlite_service: Service,
) -> None:
    acme = await sqlite_service.org()

    response = await acme.client.post("/v1/secrets", json={"name": "not a name!", "extra": True})

    error = error_of(response, 422, "invalid_request")
    problems = {detail["path"]: detail["message"] for detail in error["details"]}
    assert set(problems) == {"body.name", "body.value", "body.extra"}
    assert len(error["details"]) == 3
    assert problems["body.extra"] == "is not a known field"
    assert "required" in problems["body.value"].lower()
    assert "pattern" in problems["body.name"].lower()
    assert error["message"] == "the request has 3 problem(s)"
    assert await acme.ok("GET", "/v1/secrets") == []


async def test_unknown_fields_are_refused_everywhere_a_body_is_read(
    sqlite_service: Service,
) -> None:
    acme = await sqlite_service.org()

    workflow = await acme.client.post(
        "/v1/workflows", json={"document": document("https://api.test/"), "publish": True}
    )
    key = await acme.client.post("/v1/api-keys", json={"name": "k", "scopes": ["all"]})

    for response, path in ((workflow, "body.publish"), (key, "body.scopes")):
        [detail] = error_of(response, 422, "invalid_request")["details"]
        assert detail == {"path": path, "message": "is not a known field"}
    assert (await acme.ok("GET", "/v1/workflows"))["data"] == []


async def test_malformed_json_gets_422_in_the_error_shape(sqlite_service: Service) -> None:
    acme = await sqlite_service.org()

    response = await acme.client.post(
        "/v1/secrets",
        content=b'{"name": "crm", "value": ',
        headers={"Content-Type": "application/json"},
    )

    error = error_of(response, 422, "invalid_request")
    [detail] = error["details"]
    assert detail["path"].startswith("body")
    assert "json" in detail["message"].lower()
    assert await acme.ok("GET", "/v1/secrets") == []


def oversized_body() -> bytes:
    """A 3 MiB JSON workflow body: over the 2 MiB cap."""
    doc = document("https://api.test/") | {"description": "x" * (3 * MIB)}
    return json.dumps({"document": doc}).encode()


async def test_a_body_over_the_cap_gets_413(sqlite_service: Service) -> None:
    acme = await sqlite_service.org()
    body = oversized_body()

    response = await acme.client.post(
        "/v1/workflows", content=body, headers={"Content-Type": "application/json"}
    )

    assert response.request.headers["content-length"] == str(len(body))
    error = error_of(response, 413, "body_too_large")
    assert error["details"] == []
    assert str(2 * MIB) in error["message"]
    assert (await acme.ok("GET", "/v1/workflows"))["data"] == []


async def test_a_chunked_body_over_the_cap_gets_413_without_a_content_length(
    sqlite_service: Service,
) -> None:
    acme = await sqlite_service.org()
    body = oversized_body()
    sent: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            sent.append(start)
            yield body[start : start + 64 * 1024]

    response = await acme.client.post(
        "/v1/workflows", content=chunks(), headers={"Content-Type": "application/json"}
    )

    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    error_of(response, 413, "body_too_large")
    # The cap stops reading soon after 2 MiB: the rest of the 3 MiB is never read.
    assert max(sent) < 2 * MIB + 64 * 1024
    assert (await acme.ok("GET", "/v1/workflows"))["data"] == []


async def test_a_document_or_payload_over_1_mib_gets_422_naming_it(
    sqlite_service: Service,
) -> None:
    acme = await sqlite_service.org()
    big = document("https://api.test/") | {"description": "x" * (MIB + 1)}
    created = await acme.ok(
        "POST", "/v1/workflows", 201, json={"document": document("https://api.test/")}
    )
    workflow_id = created["workflow"]["id"]
    await acme.ok("POST", f"/v1/workflows/{workflow_id}/publish")

    create = await acme.client.post("/v1/workflows", json={"document": big})
    save = await acme.client.put(f"/v1/workflows/{workflow_id}/draft", json={"document": big})
    trigger = await acme.client.post(
        f"/v1/workflows/{workflow_id}/trigger", json={"payload": {"id": "x" * (MIB + 1)}}
    )

    for response, path in ((create, "body.document"), (save, "body.document")):
        [detail] = error_of(response, 422, "invalid_document")["details"]
        assert detail["path"] == path
        assert "at most 1048576" in detail["message"]
    [detail] = error_of(trigger, 422, "invalid_document")["details"]
    assert detail["path"] == "body.payload"
    assert [w["id"] for w in (await acme.ok("GET", "/v1/workflows"))["data"]] == [workflow_id]
    versions = await acme.ok("GET", f"/v1/workflows/{workflow_id}/versions")
    assert [v["state"] for v in versions] == ["published"]
    assert (await acme.ok("GET", "/v1/runs"))["data"] == []
