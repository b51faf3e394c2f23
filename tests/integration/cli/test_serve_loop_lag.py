"""`callout serve` as a real process keeps answering `/healthz` while a tenant's regex runs.

The issue's own case: a trigger schema `(a+)+$` and a payload of a's and a `!`
held `/healthz` on `callout serve` for 12.6 s (28 a's; 40 here would be
hours). The loop-lag probe asks from a thread of this test process.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from support.api_clients import document
from support.loop_lag import loop_lag_probe
from support.served_processes import ServedCallout, create_org, serving_callout

pytestmark = pytest.mark.looplag  # wall-clock latency: run after the rest (`make test`)

EVIL_PATTERN = "(a+)+$"
EVIL_TEXT = "a" * 40 + "!"


@pytest.fixture
async def serve(workdir: Path) -> AsyncIterator[ServedCallout]:
    """`callout serve` on a free port, once `/healthz` answers."""
    async with serving_callout("serve", env={}, log=workdir / "serve.log") as served:
        yield served


async def test_a_redos_trigger_schema_does_not_stall_callout_serve(serve: ServedCallout) -> None:
    key = await create_org(env={})
    doc = document("https://api.example.com/users")
    doc["trigger"]["schema"] = {
        "type": "object",
        "properties": {"id": {"type": "string", "pattern": EVIL_PATTERN}},
    }
    async with serve.client(key, timeout=60) as client:
        created = await client.post("/v1/workflows", json={"document": doc})
        assert created.status_code == 201, created.text
        workflow_id = created.json()["workflow"]["id"]
        published = await client.post(f"/v1/workflows/{workflow_id}/publish")
        assert published.status_code == 200, published.text

        with loop_lag_probe(serve.base) as probe:
            started = time.monotonic()
            response = await client.post(
                f"/v1/workflows/{workflow_id}/trigger", json={"payload": {"id": EVIL_TEXT}}
            )
            took = time.monotonic() - started

    assert response.status_code == 422, response.text
    [detail] = response.json()["error"]["details"]
    assert detail["message"] == f'$.id: "{EVIL_TEXT}" does not match "{EVIL_PATTERN}"'
    assert took < 10
    probe.assert_worst_below(0.1)
