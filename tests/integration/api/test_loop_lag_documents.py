"""Validating a large workflow document never holds the event loop (issue 9).

A document near the 1 MiB limit, dense with templates and response schemas,
takes about a second of CPU to validate; the API validates it in a thread
when it is created, saved, published and tested, so `/healthz` keeps answering.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from callout.model.loading import MAX_DOCUMENT_BYTES
from support.api_clients import Org
from support.loop_lag import loop_lag_probe

pytestmark = pytest.mark.looplag  # wall-clock latency: run after the rest (`make test`)

LAG_LIMIT = 0.1


def hostile_document(steps: int = 20, fields: int = 700) -> dict[str, Any]:
    """Near 1 MiB: every step's body is hundreds of templates, each step has a schema."""
    made = []
    for index in range(steps):
        earlier = f"{{{{ steps.s{index - 1}.body.x }}}}" if index else ""
        made.append(
            {
                "id": f"s{index}",
                "action": "make_https_request",
                "url": "https://api.example.com/items/{{ trigger.id }}",
                "body": {
                    f"f{j}": "{{ trigger.a }}-{{ trigger.b.c }}" + earlier for j in range(fields)
                },
                "response_schema": {"type": "object", "properties": {"x": {"type": "string"}}},
            }
        )
    return {"name": "Hostile", "trigger": {"schema": {"type": "object"}}, "steps": made}


async def test_a_near_limit_document_is_created_saved_and_published_without_stalling(
    served_acme: tuple[str, Org],
) -> None:
    base, acme = served_acme
    # The first call of each route builds its models (once per process): not measured.
    await create_save_publish(acme, json.dumps({"document": hostile_document(1, 1)}).encode())
    # Encoded before the probe starts: the test's client shares the server's loop.
    body = json.dumps({"document": hostile_document()}).encode()
    assert 0.8 * MAX_DOCUMENT_BYTES < len(body) < MAX_DOCUMENT_BYTES

    async with loop_lag_probe(base) as probe:
        await create_save_publish(acme, body)

    probe.assert_worst_below(LAG_LIMIT)


async def create_save_publish(acme: Org, body: bytes) -> None:
    headers = {"Content-Type": "application/json"}
    created = await acme.client.post("/v1/workflows", content=body, headers=headers)
    assert created.status_code == 201, created.text
    workflow_id = created.json()["workflow"]["id"]
    assert created.json()["draft"]["problems"] == []
    saved = await acme.client.put(
        f"/v1/workflows/{workflow_id}/draft", content=body, headers=headers
    )
    assert saved.status_code == 200, saved.text
    await acme.ok("POST", f"/v1/workflows/{workflow_id}/publish")
