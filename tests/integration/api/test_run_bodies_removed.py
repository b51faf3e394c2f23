"""A run whose bodies retention removed says so through the API (SQLite, PostgreSQL, memory).

`GET /v1/runs/{id}` (and the list, and one step run whole) keep each record's
`body_removed` flag beside its blanked body, and the run's `bodies_removed_at`;
resuming such a run is 409 with the reason. The database's clock (`db_clock`)
stands at T0; runs are recorded then and pruned a minute later.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from callout.api import ApiContext, create_app
from callout.http import AiohttpTransport
from callout.model.clock import ManualClock
from callout.model.plans import Plan
from callout.model.records import Decision
from callout.model.timestamps import iso_utc
from callout.store import FinishedAttempt
from callout.store.pruning import PruneSettings, prune
from callout.store.service import ServiceStore
from integration.service_store.seeds import T0, service_run, set_time
from support.api_clients import TEST_KEY, Org, error_of
from support.databases import store_of_kind

REQUEST = {
    "method": "POST",
    "url": "https://crm.example.com/users",
    "headers": [["Content-Type", "application/json"]],
    "body": '{"email":"ada@example.com"}',
}
RESPONSE = {
    "status": 201,
    "headers": [["Content-Type", "application/json"]],
    "body": '{"id":"usr_1"}',
    "body_truncated": False,
}
FAILURE = {"type": "http_status", "message": "HTTP 500", "status": 500, "body": {"why": "down"}}


@dataclass
class Api:
    """The API over one kind of store, and an organization's client."""

    store: ServiceStore
    clock: ManualClock
    acme: Org


@pytest.fixture(params=["sqlite", "postgresql", "memory"])
async def api(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    db_clock: ManualClock,
    transport: AiohttpTransport,
) -> AsyncIterator[Api]:
    """The API in-process over SQLite, PostgreSQL and the memory store, the clock at T0."""
    async with store_of_kind(request.param, tmp_path, db_clock) as store:
        app = create_app(ApiContext(store=store, cipher=TEST_KEY, transport=transport))
        org, key = await store.accounts.create_organization(name="Acme", plan=Plan.GROWTH, now=T0)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://callout.test",
            headers={"Authorization": f"Bearer {key.key}"},
        ) as client:
            yield Api(store, db_clock, Org(id=org.id, key=key.key, client=client))


async def failed_run(api: Api, *, at: float) -> str:
    """A run of two steps: `a` succeeded with a body, `b` failed on a 500 with a body."""
    set_time(api.clock, at)
    run = service_run(now=at, org_id=api.acme.id, steps=("a", "b"))
    await api.store.create_run(run)
    for decision in (Decision.SUCCEEDED, Decision.ERRORED_FAIL):
        [claim] = await api.store.claim_due(lease_seconds=30, limit=1, run_id=run.id)
        succeeded = decision is Decision.SUCCEEDED
        await api.store.finish_attempt(
            claim,
            FinishedAttempt(
                attempt_id=claim.attempt_id,
                succeeded=succeeded,
                decision=decision,
                http_status=201 if succeeded else 500,
                request=REQUEST,
                response=RESPONSE if succeeded else {**RESPONSE, "status": 500},
                error=None if succeeded else FAILURE,
                output={"status": 201, "headers": {}, "body": {"id": "usr_1"}}
                if succeeded
                else None,
            ),
        )
    return run.id


async def prune_bodies(api: Api, *, at: float) -> None:
    """Keep bodies 0 days (through the API), then run one pass at `at`."""
    await api.acme.ok("PATCH", "/v1/organization", json={"body_retention_days": 0})
    set_time(api.clock, at)
    report = await prune(
        api.store.retention, holder="test", settings=PruneSettings(batch=500, min_pause=0)
    )
    assert report is not None
    assert report.finished


async def test_a_run_view_says_its_bodies_were_removed_and_when(api: Api) -> None:
    run_id = await failed_run(api, at=T0)
    await prune_bodies(api, at=T0 + 60)
    set_time(api.clock, T0 + 61)
    kept_id = await failed_run(api, at=T0 + 61)  # after the pass: its bodies stay

    run = await api.acme.ok("GET", f"/v1/runs/{run_id}")

    assert run["bodies_removed_at"] == iso_utc(T0 + 60)
    assert run["trigger"] is None
    succeeded, failed = run["steps"]
    assert succeeded["output"] == {"status": 201, "headers": {}, "body": None, "body_removed": True}
    assert succeeded["output"]["body_removed"] is True  # a JSON true, not 1 (SQLite's reading)
    [sent] = succeeded["attempts"]
    assert sent["request"]["body"] == ""
    assert sent["request"]["body_removed"] is True
    assert sent["request"]["url"] == REQUEST["url"]  # the rest of the record stays
    assert sent["response"]["body"] == ""
    assert sent["response"]["body_removed"] is True
    assert sent["response"]["status"] == 201
    assert failed["error"]["body"] is None
    assert failed["error"]["body_removed"] is True
    assert (failed["error"]["type"], failed["error"]["message"]) == ("http_status", "HTTP 500")
    assert failed["attempts"][0]["error"] == failed["error"]

    kept = await api.acme.ok("GET", f"/v1/runs/{kept_id}")
    assert kept["bodies_removed_at"] is None
    assert kept["trigger"] == {"run": kept_id}
    assert kept["steps"][0]["output"] == {"status": 201, "headers": {}, "body": {"id": "usr_1"}}
    assert kept["steps"][0]["attempts"][0]["request"]["body_removed"] is False
    assert kept["steps"][1]["error"]["body"] == {"why": "down"}
    assert kept["steps"][1]["error"]["body_removed"] is False


async def test_the_list_and_a_whole_step_run_say_so_too(api: Api) -> None:
    run_id = await failed_run(api, at=T0)
    await prune_bodies(api, at=T0 + 60)

    listed = await api.acme.ok("GET", "/v1/runs")
    assert [(r["id"], r["bodies_removed_at"]) for r in listed["data"]] == [
        (run_id, iso_utc(T0 + 60))
    ]
    run = await api.acme.ok("GET", f"/v1/runs/{run_id}")
    step_run_id = run["steps"][0]["step_run_id"]
    whole = await api.acme.ok("GET", f"/v1/runs/{run_id}/steps/{step_run_id}")
    assert whole["output"]["body_removed"] is True
    assert whole["attempts"][0]["request"]["body_removed"] is True
    assert whole["attempts"][0]["response"]["body_removed"] is True


async def test_resuming_a_run_whose_bodies_were_removed_is_409_saying_why(api: Api) -> None:
    run_id = await failed_run(api, at=T0)
    await prune_bodies(api, at=T0 + 60)

    refused = await api.acme.client.post(f"/v1/runs/{run_id}/resume")

    error: dict[str, Any] = error_of(refused, 409, "conflict")
    assert error["message"] == (
        f"run {run_id} cannot be resumed: retention removed its bodies (its trigger "
        "payload and step outputs), which its remaining steps would read"
    )
    run = await api.acme.ok("GET", f"/v1/runs/{run_id}")
    assert run["status"] == "failed"
    assert len(run["steps"]) == 2  # no new step run
