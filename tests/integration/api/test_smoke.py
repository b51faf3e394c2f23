"""The service answers: a workflow created, published and triggered runs to completion."""

from __future__ import annotations

import asyncio

from support.api_clients import Service, document
from support.https_servers import HttpsServer


async def test_a_published_workflow_triggered_over_the_api_sends_a_signed_request(
    service: Service, https_server: HttpsServer
) -> None:
    acme = await service.org()
    await acme.ok("POST", "/v1/secrets", 201, json={"name": "sig", "value": "s3cr3t-sig"})
    created = await acme.ok(
        "POST",
        "/v1/workflows",
        201,
        json={"document": document(https_server.url("/users"), secret="{{ secrets.sig }}")},
    )
    workflow_id = created["workflow"]["id"]
    assert created["draft"]["problems"] == []
    await acme.ok("POST", f"/v1/workflows/{workflow_id}/publish")
    started = await acme.ok(
        "POST", f"/v1/workflows/{workflow_id}/trigger", 202, json={"payload": {"id": "inq_1"}}
    )
    stop = asyncio.Event()
    worker = service.worker()
    working = asyncio.create_task(worker.run(stop))
    try:
        for _ in range(200):
            run = await acme.ok("GET", f"/v1/runs/{started['run_id']}")
            if run["status"] == "completed":
                break
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await working
    assert run["status"] == "completed"
    assert run["version_id"] == started["version_id"]
    [hit] = https_server.hits_on("/users")
    assert hit.body == b'{"inquiry":"inq_1"}'
    assert hit.headers["Persona-Signature"].startswith("t=")
    attempt = run["steps"][0]["attempts"][0]
    assert "s3cr3t-sig" not in str(run)
    assert attempt["outcome"] == "succeeded"
