"""A step test against a hostile server answers clearly: never 500, never the whole body."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from support.api_clients import Service, document
from support.https_servers import HttpsServer

MIB = 1024 * 1024


def answering(body: bytes) -> Any:
    async def respond(_: web.Request) -> web.StreamResponse:
        return web.Response(body=body, content_type="application/json")

    return respond


async def test_json_nested_1000_deep_is_a_clear_final_error(
    sqlite_service: Service, https_server: HttpsServer
) -> None:
    https_server.script("/deep", answering(b"[" * 1000 + b"]" * 1000))
    acme = await sqlite_service.org()
    created = await acme.ok(
        "POST", "/v1/workflows", 201, json={"document": document(https_server.url("/deep"))}
    )
    workflow_id = created["workflow"]["id"]
    answer = await acme.ok(
        "POST",
        f"/v1/workflows/{workflow_id}/steps/create_user/test",
        json={"trigger": {"id": "inq_1"}},
    )
    assert answer["outcome"] == "failed"
    assert answer["retryable"] is False
    assert answer["error"]["type"] == "response_too_deep"
    assert "64 levels" in answer["error"]["message"]
    assert answer["response"]["body"].startswith("[[[[")


async def test_a_body_of_9_mib_of_tiny_objects_is_kept_as_a_flagged_prefix(
    sqlite_service: Service, https_server: HttpsServer
) -> None:
    https_server.script("/tiny", answering(b"[" + b",".join([b"{}"] * (9 * MIB // 3)) + b"]"))
    acme = await sqlite_service.org()
    created = await acme.ok(
        "POST", "/v1/workflows", 201, json={"document": document(https_server.url("/tiny"))}
    )
    response = await acme.client.post(
        f"/v1/workflows/{created['workflow']['id']}/steps/create_user/test",
        json={"trigger": {"id": "inq_1"}},
    )
    assert response.status_code == 200, response.text[:500]
    assert len(response.content) < 256 * 1024
    answer = response.json()
    assert answer["outcome"] == "succeeded"
    assert answer["output"]["body_truncated"] is True
    assert answer["output"]["body"].startswith("[{},{}")
    assert answer["response"]["body_truncated"] is True
