"""A run view says when each attempt ended and what `Retry-After` the server sent.

The run page draws its timeline from these (docs/dashboard.md, "The run's timeline"):
`ended_at` closes an attempt's bar, `next_attempt_at` ends the wait after it, and
`retry_after` marks where the server asked the retry to be.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from support.api_clients import Org, Service, document, finished_run, working
from support.https_servers import HttpsServer, reply


def seconds(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


async def run_of(service: Service, org: Org, url: str, **step: Any) -> dict[str, Any]:
    doc = document(url, **step)
    created = await org.ok("POST", "/v1/workflows", 201, json={"document": doc})
    workflow_id = created["workflow"]["id"]
    await org.ok("POST", f"/v1/workflows/{workflow_id}/publish")
    started = await org.ok(
        "POST", f"/v1/workflows/{workflow_id}/trigger", 202, json={"payload": {"id": "inq_1"}}
    )
    async with working(service):
        return await finished_run(org, started["run_id"])


@pytest.mark.realclock  # the retry waits the server's 2 s on the database's clock
async def test_attempts_carry_their_end_and_the_retry_after_that_stretched_the_wait(
    service: Service, https_server: HttpsServer
) -> None:
    https_server.script(
        "/busy", reply(503, headers={"Retry-After": "2"}), reply(200, body='{"id": "u_1"}')
    )
    acme = await service.org()
    run = await run_of(service, acme, https_server.url("/busy"), retry_intervals=[1])
    first, second = run["steps"][0]["attempts"]
    assert first["retry_after"] == 2.0
    assert second["retry_after"] is None
    for attempt in (first, second):
        assert seconds(attempt["ended_at"]) >= seconds(attempt["started_at"])
    # The interval was 1 s: the server's Retry-After stretched the wait to 2 s.
    waited = seconds(first["next_attempt_at"]) - seconds(first["ended_at"])
    assert waited >= 2.0 - 0.002  # both times are shown to the millisecond
    assert seconds(second["started_at"]) >= seconds(first["next_attempt_at"])

    # One step run whole says the same.
    step_run_id = run["steps"][0]["step_run_id"]
    whole = await acme.ok("GET", f"/v1/runs/{run['id']}/steps/{step_run_id}")
    assert [a["retry_after"] for a in whole["attempts"]] == [2.0, None]
    assert [a["ended_at"] for a in whole["attempts"]] == [first["ended_at"], second["ended_at"]]


async def test_a_retry_after_date_is_read_against_the_response_date(
    service: Service, https_server: HttpsServer
) -> None:
    https_server.script(
        "/later",
        reply(
            503,
            headers={
                "Retry-After": "Wed, 21 Oct 2015 07:28:30 GMT",
                "Date": "Wed, 21 Oct 2015 07:28:00 GMT",
            },
        ),
    )
    acme = await service.org()
    run = await run_of(service, acme, https_server.url("/later"), retry_intervals=[])
    [attempt] = run["steps"][0]["attempts"]
    assert attempt["retry_after"] == 30.0
    assert attempt["next_attempt_at"] is None  # no interval left: nothing waits
