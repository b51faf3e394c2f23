"""Tenant-written regular expressions never hold the event loop (issue 9, item 1).

The API is served by uvicorn on a loopback port of the test's own event loop,
beside a worker on the same loop, and a probe asks `/healthz` every ~20 ms from
its own thread while a hostile request runs. The pattern `(a+)+$` against 40
a's and a `!` takes about 2^40 steps on a backtracking engine (28 a's took
12.7 s before): each case below would hold the loop for hours.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from support.api_clients import Org, Service, document, finished_run, working
from support.https_servers import HttpsServer, reply
from support.loop_lag import loop_lag_probe

pytestmark = pytest.mark.looplag  # wall-clock latency: run after the rest (`make test`)

EVIL_PATTERN = "(a+)+$"
EVIL_TEXT = "a" * 40 + "!"
LAG_LIMIT = 0.1
"""The issue's bound on `/healthz` while a hostile case runs."""
ANSWER_WITHIN = 10.0
"""Generous: the hostile request must end, with a clear outcome, long before this."""


def evil_response_schema() -> dict[str, Any]:
    return {"type": "string", "pattern": EVIL_PATTERN}


def trigger_schema_document(url: str, properties: dict[str, Any]) -> dict[str, Any]:
    """The one-step document calling `url`, its trigger payload an object of `properties`."""
    doc = document(url)
    doc["trigger"]["schema"] = {"type": "object", "properties": properties}
    return doc


async def created_workflow(acme: Org, doc: dict[str, Any], *, publish: bool = True) -> str:
    """Create the workflow (and publish it, unless told not to); return its id."""
    created = await acme.ok("POST", "/v1/workflows", 201, json={"document": doc})
    workflow_id: str = created["workflow"]["id"]
    if publish:
        await acme.ok("POST", f"/v1/workflows/{workflow_id}/publish")
    return workflow_id


async def test_a_redos_response_schema_in_a_step_test_neither_stalls_nor_hangs(
    served_acme: tuple[str, Org], https_server: HttpsServer
) -> None:
    base, acme = served_acme
    https_server.script("/users", reply(200, json.dumps(EVIL_TEXT)))
    doc = document(https_server.url("/users"), response_schema=evil_response_schema())
    workflow_id = await created_workflow(acme, doc, publish=False)

    async with loop_lag_probe(base) as probe:
        started = time.monotonic()
        response = await acme.client.post(
            f"/v1/workflows/{workflow_id}/steps/create_user/test", json={"trigger": {"id": "x"}}
        )
        took = time.monotonic() - started

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["outcome"] == "failed"
    assert answer["error"]["type"] == "schema_mismatch"
    assert f'does not match "{EVIL_PATTERN}"' in answer["error"]["message"]
    assert took < ANSWER_WITHIN
    probe.assert_worst_below(LAG_LIMIT)


async def test_a_redos_response_schema_in_a_worker_run_neither_stalls_nor_hangs(
    served_acme: tuple[str, Org], https_server: HttpsServer, sqlite_service: Service
) -> None:
    base, acme = served_acme
    https_server.script("/users", reply(200, json.dumps(EVIL_TEXT)))
    doc = document(https_server.url("/users"), response_schema=evil_response_schema())
    workflow_id = await created_workflow(acme, doc)
    async with working(sqlite_service), loop_lag_probe(base) as probe:
        started = await acme.ok(
            "POST", f"/v1/workflows/{workflow_id}/trigger", 202, json={"payload": {"id": "x"}}
        )
        run = await finished_run(acme, started["run_id"], timeout=ANSWER_WITHIN)

    assert run["status"] == "failed"
    [step] = run["steps"]
    assert step["error"]["type"] == "schema_mismatch"
    assert f'does not match "{EVIL_PATTERN}"' in step["error"]["message"]
    probe.assert_worst_below(LAG_LIMIT)


async def test_a_redos_trigger_schema_refuses_the_payload_quickly_without_stalling(
    served_acme: tuple[str, Org], https_server: HttpsServer
) -> None:
    base, acme = served_acme
    properties = {"id": {"type": "string", "pattern": EVIL_PATTERN}}
    doc = trigger_schema_document(https_server.url("/users"), properties)
    workflow_id = await created_workflow(acme, doc)

    async with loop_lag_probe(base) as probe:
        started = time.monotonic()
        response = await acme.client.post(
            f"/v1/workflows/{workflow_id}/trigger", json={"payload": {"id": EVIL_TEXT}}
        )
        took = time.monotonic() - started

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_payload"
    [detail] = error["details"]
    assert detail["message"] == f'$.id: "{EVIL_TEXT}" does not match "{EVIL_PATTERN}"'
    assert took < ANSWER_WITHIN
    assert https_server.hits == []
    probe.assert_worst_below(LAG_LIMIT)


async def test_a_large_payload_against_a_costly_trigger_schema_is_checked_off_the_loop(
    served_acme: tuple[str, Org], https_server: HttpsServer
) -> None:
    # 300 KB of strings against a pattern whose program is large: linear, but ~m x n
    # (seconds in the service's own process); it goes to the helper process instead.
    base, acme = served_acme
    properties = {"tags": {"type": "array", "items": {"pattern": "a[ab]{200}c"}}}
    doc = trigger_schema_document(https_server.url("/users"), properties)
    workflow_id = await created_workflow(acme, doc)
    tags = ["ab" * 500] * 300

    async with loop_lag_probe(base) as probe:
        response = await acme.client.post(
            f"/v1/workflows/{workflow_id}/trigger", json={"payload": {"id": "x", "tags": tags}}
        )

    assert response.status_code == 422, response.text
    first, rest = (detail["message"] for detail in response.json()["error"]["details"])
    assert first.startswith('$.tags[0]: "abab')
    assert " … " in first  # the quoted 1,000-character value is cut in the middle
    assert first.endswith('does not match "a[ab]{200}c"')
    assert rest == "$: further problems are not listed (too many to list in time)"
    probe.assert_worst_below(LAG_LIMIT)
