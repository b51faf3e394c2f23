"""Testing an OAuth2 step from the dashboard: the API fetches a token once and keeps it."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from support.api_clients import Org, Service
from support.https_servers import HttpsServer, reply


async def one_attempt(org: Org, workflow_id: str, step_id: str) -> Any:
    """Test the step with no sample data; assert 200; return the answer."""
    response = await org.client.post(f"/v1/workflows/{workflow_id}/steps/{step_id}/test", json={})
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_tested_oauth2_step_fetches_one_token_and_sends_it(
    service: Service, https_server: HttpsServer
) -> None:
    async def issue(_: web.Request) -> web.StreamResponse:
        number = len(https_server.hits_on("/token"))
        return web.json_response(
            {"access_token": f"tok-{number}", "token_type": "Bearer", "expires_in": 3600}
        )

    https_server.script("/token", issue)
    https_server.script("/api", reply(200, '{"ok": true}'))
    acme = await service.org()
    await acme.ok("POST", "/v1/secrets", 201, json={"name": "oauth", "value": "client-s3cret"})
    step = {
        "id": "call",
        "action": "make_https_request",
        "url": https_server.url("/api"),
        "method": "GET",
        "auth": {
            "type": "oauth2_client_credentials",
            "token_url": https_server.url("/token"),
            "client_id": "dashboard",
            "client_secret": "{{ secrets.oauth }}",
        },
    }
    created = await acme.ok(
        "POST", "/v1/workflows", 201, json={"document": {"name": "OAuth2", "steps": [step]}}
    )
    workflow_id = str(created["workflow"]["id"])

    first = await one_attempt(acme, workflow_id, "call")
    second = await one_attempt(acme, workflow_id, "call")

    assert first["outcome"] == second["outcome"] == "succeeded"
    assert len(https_server.hits_on("/token")) == 1  # kept, not fetched per test
    assert [hit.headers["Authorization"] for hit in https_server.hits_on("/api")] == [
        "Bearer tok-1",
        "Bearer tok-1",
    ]
    assert "tok-1" not in str(first) + str(second)
