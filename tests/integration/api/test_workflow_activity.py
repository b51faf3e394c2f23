"""Workflow activity: runs per clock hour and the failure rate, per workflow and for all.

`GET /v1/workflows/{id}/activity` and `GET /v1/workflow-activity` (docs/dashboard.md,
"Activity"), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import math
import time
from typing import Any

from callout.model.clock import ManualClock
from callout.model.timestamps import iso_utc
from support.api_clients import Org, Service, document, error_of, finished_run, working
from support.https_servers import HttpsServer, reply

HOUR = 3600
PAYLOAD = {"payload": {"id": "inq_1"}}


async def published(org: Org, url: str, name: str) -> str:
    doc = document(url, retry_intervals=[]) | {"name": name, "trigger": {}}
    created = await org.ok("POST", "/v1/workflows", 201, json={"document": doc})
    workflow_id = str(created["workflow"]["id"])
    await org.ok("POST", f"/v1/workflows/{workflow_id}/publish")
    return workflow_id


async def finished(service: Service, org: Org, workflow_id: str, times: int) -> None:
    run_ids = [
        (await org.ok("POST", f"/v1/workflows/{workflow_id}/trigger", 202, json=PAYLOAD))["run_id"]
        for _ in range(times)
    ]
    async with working(service):
        for run_id in run_ids:
            await finished_run(org, run_id)


def hour_start(moment: float) -> float:
    return math.floor(moment / HOUR) * HOUR


def counts(hour: dict[str, Any]) -> tuple[int, int, int, int]:
    return hour["completed"], hour["failed"], hour["in_progress"], hour["cancelled"]


async def test_runs_of_this_hour_count_in_the_last_hour_with_the_failure_rate(
    service: Service, https_server: HttpsServer
) -> None:
    https_server.script("/ok", reply(200))
    https_server.script("/broken", reply(500))
    acme = await service.org()
    good = await published(acme, https_server.url("/ok"), "Good")
    flaky = await published(acme, https_server.url("/broken"), "Flaky")
    quiet = await published(acme, https_server.url("/ok"), "Quiet")
    await finished(service, acme, good, 3)
    await finished(service, acme, flaky, 1)
    flaky_ok = await acme.ok("POST", f"/v1/workflows/{flaky}/trigger", 202, json=PAYLOAD)
    https_server.script("/broken", reply(200))
    async with working(service):
        await finished_run(acme, flaky_ok["run_id"])
    before = time.time()

    one = await acme.ok("GET", f"/v1/workflows/{flaky}/activity")
    assert len(one["hours"]) == 24
    now_hour = hour_start(before)
    assert one["hours"][-1]["start"] == iso_utc(now_hour)
    assert one["since"] == iso_utc(now_hour - 23 * HOUR)
    assert one["until"] == iso_utc(now_hour + HOUR)
    assert counts(one["hours"][-1]) == (1, 1, 0, 0)
    assert all(counts(hour) == (0, 0, 0, 0) for hour in one["hours"][:-1])
    assert (one["completed"], one["failed"], one["failure_rate"]) == (1, 1, 0.5)

    every = await acme.ok("GET", "/v1/workflow-activity?hours=6")
    assert every["since"] == iso_utc(now_hour - 5 * HOUR)
    by_id = {entry["workflow_id"]: entry for entry in every["data"]}
    assert set(by_id) == {good, flaky}  # a workflow without runs is left out
    assert len(by_id[good]["hours"]) == 6
    assert (by_id[good]["completed"], by_id[good]["failed"]) == (3, 0)
    assert by_id[good]["failure_rate"] == 0.0
    assert (await acme.ok("GET", f"/v1/workflows/{quiet}/activity"))["failure_rate"] is None


async def test_the_window_moves_with_the_clock(service: Service, https_server: HttpsServer) -> None:
    https_server.script("/ok", reply(200))
    acme = await service.org()
    workflow_id = await published(acme, https_server.url("/ok"), "Good")
    await finished(service, acme, workflow_id, 1)
    # Two hours later the run is in the third hour from the end; a day later, gone.
    later = ManualClock(time.time() + 2 * HOUR)
    service.context.clock = later
    hours = (await acme.ok("GET", f"/v1/workflows/{workflow_id}/activity"))["hours"]
    assert [counts(hour)[0] for hour in hours[-4:]] == [0, 1, 0, 0]
    later.advance(24 * HOUR)
    gone = await acme.ok("GET", f"/v1/workflows/{workflow_id}/activity")
    assert gone["completed"] == 0
    assert gone["failure_rate"] is None


async def test_another_organizations_workflow_is_not_found_and_hours_are_bounded(
    service: Service, https_server: HttpsServer
) -> None:
    acme = await service.org()
    bravo = await service.org("Bravo")
    workflow_id = await published(acme, https_server.url("/ok"), "Good")
    error_of(await bravo.client.get(f"/v1/workflows/{workflow_id}/activity"), 404, "not_found")
    assert (await bravo.ok("GET", "/v1/workflow-activity"))["data"] == []
    for hours in ("0", "169", "x"):
        error = error_of(
            await acme.client.get(f"/v1/workflow-activity?hours={hours}"), 422, "invalid_request"
        )
        assert error["details"][0]["path"] == "query.hours"
