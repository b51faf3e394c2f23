"""Hostile JSON bodies over real HTTP: 422 with the path in the one error shape, nothing stored.

Every case is sent as raw bytes to the app behind uvicorn on a loopback port, as a
client anywhere would send it; each would answer 500, or be accepted and stored,
without `api/json_bodies.py`.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any

import httpx
import pytest

from callout.store.workflows import create_workflow
from support.api_clients import Org, Service, document, error_of
from support.in_process_servers import serving

URL = "https://api.test/users"
DEEP = "nested deeper than 64 levels of arrays and objects"
DOCUMENT = json.dumps(document(URL))


def nested(depth: int, leaf: str = "1") -> str:
    """A JSON text of `depth` arrays, one inside the other, around `leaf`."""
    return "[" * depth + leaf + "]" * depth


@pytest.fixture
async def acme(sqlite_service: Service) -> AsyncIterator[tuple[Org, httpx.AsyncClient]]:
    """An organization, and a client sending its key to the app over real HTTP."""
    org = await sqlite_service.org()
    async with (
        serving(sqlite_service.app) as base,
        httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {org.key}"}) as http,
    ):
        yield org, http


async def refused(
    http: httpx.AsyncClient, method: str, path: str, body: str | bytes, where: str
) -> str:
    """Send `body` as JSON; assert 422 `invalid_request` at `where`; return the message."""
    content = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    response = await http.request(
        method, path, content=content, headers={"Content-Type": "application/json"}
    )
    error = error_of(response, 422, "invalid_request")
    assert [detail["path"] for detail in error["details"]] == [where], error
    message: str = error["details"][0]["message"]
    return message


async def refused_posts(
    http: httpx.AsyncClient, cases: Iterable[tuple[str, str, str]]
) -> list[str]:
    """POST each `(path, body, where)` case with `refused`; return the messages, in order."""
    return [await refused(http, "POST", path, body, where) for path, body, where in cases]


async def published(org: Org) -> str:
    """Create and publish the one-step workflow; return its id."""
    created = await org.ok("POST", "/v1/workflows", 201, json={"document": json.loads(DOCUMENT)})
    workflow_id = str(created["workflow"]["id"])
    await org.ok("POST", f"/v1/workflows/{workflow_id}/publish")
    return workflow_id


@pytest.fixture
async def workflow_id(acme: tuple[Org, httpx.AsyncClient]) -> str:
    """The one-step workflow, created and published by the organization; its id."""
    return await published(acme[0])


async def workflows_of(org: Org) -> list[dict[str, Any]]:
    page = await org.ok("GET", "/v1/workflows")
    data: list[dict[str, Any]] = page["data"]
    return data


async def nothing_started(org: Org) -> None:
    assert (await org.ok("GET", "/v1/runs"))["data"] == []
    assert (await org.ok("GET", "/v1/trigger-calls"))["data"] == []


async def test_a_document_nested_256_deep_is_refused_and_no_workflow_is_stored(
    acme: tuple[Org, httpx.AsyncClient],
) -> None:
    org, http = acme
    body = '{"document": {"name": "deep", "x": ' + nested(256) + "}}"
    message = await refused(http, "POST", "/v1/workflows", body, "body.document.x" + "[0]" * 62)
    assert message == "nested deeper than 64 levels of arrays and objects"
    assert await workflows_of(org) == []


async def test_a_deep_draft_is_refused_and_the_stored_draft_is_unchanged(
    acme: tuple[Org, httpx.AsyncClient],
) -> None:
    org, http = acme
    created = await org.ok("POST", "/v1/workflows", 201, json={"document": json.loads(DOCUMENT)})
    workflow_id = created["workflow"]["id"]
    body = '{"document": {"name": "deep", "steps": ' + nested(256) + "}}"
    path = f"/v1/workflows/{workflow_id}/draft"
    await refused(http, "PUT", path, body, "body.document.steps" + "[0]" * 62)
    draft = await org.ok("GET", f"/v1/workflows/{workflow_id}/versions/draft")
    assert draft["document"] == json.loads(DOCUMENT)


async def test_a_trigger_payload_nested_300_deep_is_refused_and_starts_nothing(
    acme: tuple[Org, httpx.AsyncClient], workflow_id: str
) -> None:
    org, http = acme
    body = '{"payload": {"id": "inq_1", "deep": ' + nested(300) + "}}"
    path = f"/v1/workflows/{workflow_id}/trigger"
    await refused(http, "POST", path, body, "body.payload.deep" + "[0]" * 62)
    await nothing_started(org)


async def test_a_body_nested_a_million_deep_is_refused(
    acme: tuple[Org, httpx.AsyncClient], workflow_id: str
) -> None:
    org, http = acme
    body = '{"payload": ' + nested(900_000, "") + "}"
    path = f"/v1/workflows/{workflow_id}/trigger"
    await refused(http, "POST", path, body, "body.payload" + "[0]" * 63)
    await nothing_started(org)


SURROGATE_DOCUMENT = DOCUMENT.replace('"Create the user"', '"\\ud800"')
SURROGATES = [
    ("/v1/workflows", '{"document": ' + SURROGATE_DOCUMENT + "}", "body.document.name"),
    ("/v1/events", '{"name": "x", "payload": ["\\udfff"]}', "body.payload[0]"),
    ("/v1/events", '{"name": "x", "payload": {"\\ud800": 1}}', 'body.payload["\\ud800"]'),
    ("/v1/secrets", '{"name": "tok", "value": "a\\ud83d"}', "body.value"),
]


async def test_lone_surrogates_are_refused_with_the_path_wherever_they_are(
    acme: tuple[Org, httpx.AsyncClient], workflow_id: str
) -> None:
    org, http = acme
    cases = [
        *SURROGATES,
        (
            f"/v1/workflows/{workflow_id}/trigger",
            '{"payload": {"id": "\\ud800"}}',
            "body.payload.id",
        ),
        (
            f"/v1/workflows/{workflow_id}/steps/create_user/test",
            '{"trigger": {"id": "x"}, "steps": {"a": {"body": "\\udc00"}}}',
            "body.steps.a.body",
        ),
    ]
    for message in await refused_posts(http, cases):
        assert "lone surrogate" in message
    assert [workflow["id"] for workflow in await workflows_of(org)] == [workflow_id]
    assert await org.ok("GET", "/v1/secrets") == []
    await nothing_started(org)


NUMBERS_AND_KEYS = [
    ('{"id": NaN}', "body.payload.id", "NaN and infinities are refused"),
    ("[1, -Infinity]", "body.payload[1]", "NaN and infinities are refused"),
    ('{"n": 1e400}', "body.payload.n", "too large for a 64-bit float"),
    ('{"n": 18446744073709551616}', "body.payload.n", "integer out of range"),
    ('{"n": -' + "9" * 5000 + "}", "body.payload.n", "integer out of range (5000 digits)"),
    ('{"id": "a", "id": "b"}', "body.payload.id", 'duplicate key "id"'),
]


async def test_numbers_and_keys_json_cannot_hold_are_refused(
    acme: tuple[Org, httpx.AsyncClient], workflow_id: str
) -> None:
    org, http = acme
    path = f"/v1/workflows/{workflow_id}/trigger"
    cases = [
        (path, '{"payload": ' + payload + "}", where) for payload, where, _ in NUMBERS_AND_KEYS
    ]
    messages = await refused_posts(http, cases)
    for (_, _, says), message in zip(NUMBERS_AND_KEYS, messages, strict=True):
        assert says in message
    await nothing_started(org)


async def test_invalid_utf8_and_invalid_json_are_refused_at_the_body(
    acme: tuple[Org, httpx.AsyncClient],
) -> None:
    org, http = acme
    message = await refused(http, "POST", "/v1/events", b'{"name": "x\xff"}', "body")
    assert message == "is not UTF-8 text (invalid byte at offset 11)"
    message = await refused(http, "POST", "/v1/events", '{"name": "x",}', "body")
    assert message.startswith("is not valid JSON: Expecting property name")
    await nothing_started(org)


async def test_a_body_without_a_content_type_is_read_as_json_and_checked(
    acme: tuple[Org, httpx.AsyncClient],
) -> None:
    _, http = acme
    response = await http.post("/v1/events", content=b'{"name": "x", "payload": [NaN]}')
    error = error_of(response, 422, "invalid_request")
    assert error["details"][0]["path"] == "body.payload[0]"


@pytest.mark.parametrize(
    "target",
    [
        "/v1/workflows/%ED%A0%80",
        "/v1/runs/wfr_%FF",
        "/v1/runs?workflow_id=%FF&cursor=%ED%A0%80",
        "/v1/runs?created_after=%ED%A0%80",
        "/v1/secrets/%ED%A0%80",
    ],
)
async def test_invalid_utf8_and_surrogates_in_the_url_answer_4xx(
    acme: tuple[Org, httpx.AsyncClient], target: str
) -> None:
    _, http = acme
    response = await http.get(target)
    assert response.status_code == 422, response.text
    assert error_of(response, 422, "invalid_request")["details"]


def deep_list(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


async def test_a_stored_document_breaking_the_rules_reads_back_degraded_and_does_not_publish(
    sqlite_service: Service, acme: tuple[Org, httpx.AsyncClient]
) -> None:
    # A draft stored before bodies were checked (written to the store directly).
    org, http = acme
    old = json.loads(DOCUMENT)
    old["steps"][0]["body"] = {"deep": deep_list(300)}
    old["name"] = "old \ud800"
    info = await sqlite_service.store.write(
        create_workflow, org_id=org.id, name="old", document=old, by=None, now=time.time()
    )

    response = await http.get(f"/v1/workflows/{info.id}/versions/draft")

    assert response.status_code == 200, response.text
    draft = response.json()
    assert draft["document"]["name"] == "old \ufffd"
    shown = draft["document"]["steps"][0]["body"]["deep"]
    for _ in range(60):
        (shown,) = shown
    assert shown == "[not shown: nested deeper than 64 levels]"
    # The first break of the rules, in document order, is listed (no more is checked).
    assert draft["problems"] == [
        {"path": "name", "message": "holds a lone surrogate (\\ud800); text must be valid Unicode"}
    ]
    response = await http.post(f"/v1/workflows/{info.id}/publish")
    error = error_of(response, 422, "invalid_document")
    assert error["details"] == draft["problems"]


async def test_nul_in_a_document_or_payload_is_refused_on_both_databases(
    service: Service,
) -> None:
    # PostgreSQL cannot store U+0000 in text, nor read a json value holding "\u0000":
    # accepted, such a payload made its run answer 500 for ever after.
    org = await service.org()
    workflow_id = await published(org)
    cases = [
        ("/v1/workflows", '{"document": {"name": "a\\u0000"}}', "body.document.name"),
        (
            f"/v1/workflows/{workflow_id}/trigger",
            '{"payload": {"id": "\\u0000"}}',
            "body.payload.id",
        ),
        ("/v1/events", '{"name": "x", "payload": {"\\u0000": 1}}', 'body.payload["\\u0000"]'),
    ]
    for message in await refused_posts(org.client, cases):
        assert message.removeprefix("key ") == "holds U+0000 (NUL), which callout cannot store"
    assert [workflow["id"] for workflow in await workflows_of(org)] == [workflow_id]
    await nothing_started(org)
