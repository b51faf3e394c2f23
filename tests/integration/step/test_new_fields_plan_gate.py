"""The plan gate covers a Make HTTPS Request step that uses the new fields (auth, query, form
body, client certificate, redirects), and publishing checks those fields like the rest."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest

from callout.http import AiohttpTransport
from callout.model.plans import Plan
from callout.steps.validation import validate_workflow
from callout.store.sql_store import SqlStore
from support.api_clients import Org, Service, api_service, document
from support.https_servers import HttpsServer
from support.polling import eventually

GATED = pytest.mark.parametrize("plan", [Plan.STARTUP, Plan.ESSENTIAL])
SECRETS = {"stripe_key": "sk_test_gate", "partner_cert": "-----BEGIN CERTIFICATE-----"}


@pytest.fixture
async def service(store: SqlStore, transport: AiohttpTransport) -> AsyncIterator[Service]:
    """The API over both databases, its transport allowed to reach loopback test servers."""
    async with api_service(store, transport) as built:
        yield built


def new_fields_document(url: str, **changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "auth": {"type": "basic", "username": "{{ secrets.stripe_key }}"},
        "query": [{"key": "expand", "value": "customer"}],
        "body_type": "form",
        "body": [{"key": "inquiry", "value": "{{ trigger.id }}"}],
        "follow_redirects": True,
    }
    return document(url, **(fields | changes))


async def with_secrets(org: Org) -> Org:
    for name, value in SECRETS.items():
        await org.ok("POST", "/v1/secrets", 201, json={"name": name, "value": value})
    return org


async def draft(org: Org, body: dict[str, Any]) -> str:
    created = await org.ok("POST", "/v1/workflows", 201, json={"document": body})
    workflow_id: str = created["workflow"]["id"]
    return workflow_id


@GATED
async def test_a_plan_without_https_requests_cannot_publish_or_test_a_step_with_new_fields(
    service: Service, https_server: HttpsServer, plan: Plan
) -> None:
    small = await with_secrets(await service.org("Small", plan))
    body = new_fields_document(
        https_server.url("/charges"), client_certificate="{{ secrets.partner_cert }}"
    )
    workflow_id = await draft(small, body)

    refused = await small.client.post(f"/v1/workflows/{workflow_id}/publish")
    tested = await small.client.post(
        f"/v1/workflows/{workflow_id}/steps/create_user/test", json={"trigger": {"id": "inq_1"}}
    )

    for response in (refused, tested):
        assert response.status_code == 403, response.text
        error = response.json()["error"]
        assert error["code"] == "plan_lacks_action"
        assert [detail["path"] for detail in error["details"]] == ["steps[0].action"]
    assert (await small.ok("GET", f"/v1/workflows/{workflow_id}"))["live_version"] is None
    assert https_server.hits == []


async def test_publishing_checks_the_new_fields_with_their_paths(
    service: Service, https_server: HttpsServer
) -> None:
    acme = await service.org("Acme", Plan.GROWTH)
    body = new_fields_document(
        https_server.url("/charges"),
        auth={"type": "bearer", "token": "{{ secrets.missing }}"},
        query=[{"key": "", "value": "x"}],
        content_type="text/xml",
    )
    workflow_id = await draft(acme, body)

    refused = await acme.client.post(f"/v1/workflows/{workflow_id}/publish")

    assert refused.status_code == 422
    paths = [detail["path"] for detail in refused.json()["error"]["details"]]
    assert paths == ["steps[0].content_type", "steps[0].query[0].key", "steps[0].auth.token"]


async def test_a_growth_plan_publishes_and_runs_a_step_with_new_fields(
    service: Service, https_server: HttpsServer
) -> None:
    acme = await with_secrets(await service.org("Acme", Plan.GROWTH))
    workflow_id = await draft(acme, new_fields_document(https_server.url("/charges")))
    await acme.ok("POST", f"/v1/workflows/{workflow_id}/publish")
    started = await acme.ok(
        "POST", f"/v1/workflows/{workflow_id}/trigger", 202, json={"payload": {"id": "inq 1"}}
    )

    stop = asyncio.Event()
    working = asyncio.create_task(service.worker().run(stop))
    try:

        async def finished() -> bool:
            run = await acme.ok("GET", f"/v1/runs/{started['run_id']}")
            return run["status"] not in {"pending", "running"}

        await eventually(finished, "the run to finish", seconds=10)
    finally:
        stop.set()
        await working
    run = await acme.ok("GET", f"/v1/runs/{started['run_id']}")
    assert run["status"] == "completed", run
    [hit] = https_server.hits
    assert hit.raw_path == "/charges?expand=customer"
    assert hit.body == b"inquiry=inq+1"
    assert hit.headers["Authorization"] == "Basic " + base64.b64encode(b"sk_test_gate:").decode()
    assert "sk_test_gate" not in str(run)


async def test_the_openapi_example_document_shows_the_new_fields_and_is_valid(
    sqlite_store: SqlStore, transport: AiohttpTransport
) -> None:
    async with api_service(sqlite_store, transport) as built:
        described = built.app.openapi()
    [example] = described["components"]["schemas"]["DocumentIn"]["properties"]["document"][
        "examples"
    ]
    fields = {key for step in example["steps"] for key in step}
    assert {"query", "auth", "body_type", "content_type", "client_certificate"} <= fields
    assert {"follow_redirects"} <= fields
    names = frozenset({"stripe_key", "crm_signing", "partner_oauth", "partner_cert"})
    valid = validate_workflow(example, secrets=names)
    assert valid.secret_names() == names
