"""A body that would resolve to 100 MB is refused as it resolves, with a clear final error.

The issue's case through the API: a 30 KB document of 2,000 copies of
`"{{ trigger.a }}"` and a 50 KB `a`. Before, the step test built all 100 MB
(+274 MiB RSS) before the 1 MiB check refused it.
"""

from __future__ import annotations

from typing import Any

import pytest

from support.api_clients import Org, Service, document, finished_run, working
from support.https_servers import HttpsServer
from support.in_process_servers import serving
from support.loop_lag import loop_lag_probe

BIG_TRIGGER = {"a": "x" * 50_000}


async def blow_up_workflow(org: Org, server: HttpsServer) -> str:
    """Create and publish the issue's workflow; return its id."""
    doc = document(server.url("/users"), body=["{{ trigger.a }}"] * 2000)
    doc["trigger"]["schema"] = {"type": "object"}
    created = await org.ok("POST", "/v1/workflows", 201, json={"document": doc})
    assert created["draft"]["problems"] == []
    workflow_id: str = created["workflow"]["id"]
    await org.ok("POST", f"/v1/workflows/{workflow_id}/publish")
    return workflow_id


async def test_the_step_test_refuses_a_body_that_blows_up_and_sends_nothing(
    sqlite_service: Service, https_server: HttpsServer
) -> None:
    acme = await sqlite_service.org()
    workflow_id = await blow_up_workflow(acme, https_server)

    tested = await acme.ok(
        "POST",
        f"/v1/workflows/{workflow_id}/steps/create_user/test",
        json={"trigger": BIG_TRIGGER, "version": "live"},
    )

    assert tested["outcome"] == "failed"
    assert tested["retryable"] is False
    error = tested["error"]
    assert error["type"] == "request_too_large"
    assert error["message"] == (
        "the resolved body passes 1048576 bytes at body[20] ({{ trigger.a }}); "
        "resolution stopped there"
    )
    assert error["status"] is None
    assert tested["request"] is None
    assert https_server.hits == []


@pytest.mark.looplag  # wall-clock latency: run after the rest (`make test`)
async def test_healthz_answers_within_100_ms_while_blow_up_bodies_are_tested_and_run(
    sqlite_service: Service, https_server: HttpsServer
) -> None:
    acme = await sqlite_service.org()
    workflow_id = await blow_up_workflow(acme, https_server)
    runs: list[dict[str, Any]] = []

    async with serving(sqlite_service.app) as base, loop_lag_probe(base) as probe:
        for _ in range(3):
            await acme.ok(
                "POST",
                f"/v1/workflows/{workflow_id}/steps/create_user/test",
                json={"trigger": BIG_TRIGGER, "version": "live"},
            )
        started = await acme.ok(
            "POST", f"/v1/workflows/{workflow_id}/trigger", 202, json={"payload": BIG_TRIGGER}
        )
        async with working(sqlite_service):
            runs.append(await finished_run(acme, started["run_id"]))

    probe.assert_worst_below(0.1)
    [run] = runs
    assert run["status"] == "failed"
    assert run["steps"][0]["error"]["type"] == "request_too_large"
    assert https_server.hits == []
