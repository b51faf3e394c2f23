"""Runs over the API: filtered lists, attempts in detail, resume after a failure, cancel."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa

from callout.store.tables import step_runs
from support.api_clients import (
    Org,
    Service,
    document,
    error_of,
    finished_run,
    run_until,
    working,
)
from support.https_servers import HttpsServer, reply

ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
UNKNOWN_RUN = "wfr_0000000000ZZZZZZZZZZZZZZZZ"


async def time_passes(service: Service, seconds: float) -> None:
    """Move the database's time on: every due time comes `seconds` closer.

    The database's clock decides what is due (a worker's own clock does not), so a
    test moves the due times rather than a clock.
    """

    def shift(conn: sa.Connection) -> None:
        conn.execute(
            sa.update(step_runs)
            .where(step_runs.c.due_at.is_not(None))
            .values(due_at=step_runs.c.due_at - seconds)
        )

    await service.store.write(shift)


def seconds_of(iso: str) -> float:
    """Unix seconds of a time the API shows (`...Z`)."""
    return datetime.fromisoformat(iso).timestamp()


async def published(org: Org, doc: dict[str, Any]) -> str:
    """Create and publish a workflow of `doc`; return its id."""
    created = await org.ok("POST", "/v1/workflows", 201, json={"document": doc})
    workflow_id = str(created["workflow"]["id"])
    await org.ok("POST", f"/v1/workflows/{workflow_id}/publish")
    return workflow_id


async def trigger(org: Org, workflow_id: str, inquiry: str) -> str:
    """Start a run of the workflow; return its id."""
    started = await org.ok(
        "POST", f"/v1/workflows/{workflow_id}/trigger", 202, json={"payload": {"id": inquiry}}
    )
    return str(started["run_id"])


async def listed(org: Org, **params: Any) -> tuple[list[str], str | None]:
    """The run ids `GET /v1/runs` answers with `params`, and its next cursor."""
    page = await org.ok("GET", "/v1/runs", params=params)
    return [run["id"] for run in page["data"]], page["next_cursor"]


async def instant_between() -> datetime:
    """A moment at least 3 ms after what came before and before what comes after."""
    await asyncio.sleep(0.003)
    moment = datetime.now(UTC)
    await asyncio.sleep(0.003)
    return moment


def headers_of(pairs: list[list[str]]) -> dict[str, str]:
    """Recorded [name, value] pairs as a dict with lower-case names."""
    return {name.lower(): value for name, value in pairs}


def waiting(run: dict[str, Any]) -> bool:
    return bool(run["steps"]) and run["steps"][0]["status"] == "waiting"


async def test_runs_are_listed_newest_first_filtered_by_workflow_status_and_time(
    service: Service,
) -> None:
    acme = await service.org()
    one = await published(acme, document("https://api.test/one"))
    two = await published(acme, document("https://api.test/two"))
    r1 = await trigger(acme, one, "inq_1")
    after_r1 = await instant_between()
    r2 = await trigger(acme, two, "inq_2")
    after_r2 = await instant_between()
    r3 = await trigger(acme, one, "inq_3")
    after_r3 = await instant_between()
    r4 = await trigger(acme, one, "inq_4")
    await acme.ok("POST", f"/v1/runs/{r3}/cancel")
    other = await service.org("Other")
    await trigger(other, await published(other, document("https://api.test/other")), "inq_x")

    assert await listed(acme) == ([r4, r3, r2, r1], None)
    assert await listed(acme, workflow_id=one) == ([r4, r3, r1], None)
    assert await listed(acme, workflow_id=two) == ([r2], None)
    assert await listed(acme, status="cancelled") == ([r3], None)
    assert await listed(acme, status="pending") == ([r4, r2, r1], None)
    assert await listed(acme, status="completed") == ([], None)
    assert await listed(acme, workflow_id=one, status="pending") == ([r4, r1], None)
    assert await listed(acme, created_after=after_r1.isoformat()) == ([r4, r3, r2], None)
    assert await listed(acme, created_before=after_r3.isoformat()) == ([r3, r2, r1], None)
    assert await listed(
        acme, created_after=after_r1.isoformat(), created_before=after_r2.isoformat()
    ) == ([r2], None)
    in_paris = after_r2.astimezone(timezone(timedelta(hours=2))).isoformat()
    assert in_paris.endswith("+02:00")
    assert await listed(acme, created_after=in_paris) == ([r4, r3], None)
    zulu = after_r2.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert await listed(acme, created_after=zulu) == ([r4, r3], None)
    naive = after_r2.replace(tzinfo=None).isoformat()
    assert await listed(acme, created_after=naive) == ([r4, r3], None)
    assert await listed(acme, created_after=after_r3.isoformat(), workflow_id=two) == ([], None)

    summary = (await acme.ok("GET", "/v1/runs", params={"limit": 1}))["data"][0]
    assert set(summary) == {
        "id",
        "workflow_id",
        "workflow_name",
        "version_id",
        "status",
        "created_at",
        "updated_at",
        "finished_at",
        "bodies_removed_at",
    }
    assert summary["id"] == r4
    assert summary["workflow_id"] == one
    assert ISO_UTC.fullmatch(summary["created_at"])
    assert summary["finished_at"] is None


async def test_runs_page_with_limit_and_cursor_and_the_last_page_has_no_cursor(
    service: Service,
) -> None:
    acme = await service.org()
    one = await published(acme, document("https://api.test/one"))
    two = await published(acme, document("https://api.test/two"))
    runs = []
    for number, workflow_id in enumerate((one, two, one, one, two)):
        runs.append(await trigger(acme, workflow_id, f"inq_{number}"))
        await instant_between()
    newest_first = runs[::-1]

    first = await listed(acme, limit=2)
    second = await listed(acme, limit=2, cursor=first[1])
    third = await listed(acme, limit=2, cursor=second[1])

    assert first == (newest_first[:2], newest_first[1])
    assert second == (newest_first[2:4], newest_first[3])
    assert third == (newest_first[4:], None)
    ones = [run for run, wf in zip(runs, (one, two, one, one, two), strict=True) if wf == one]
    page = await listed(acme, workflow_id=one, limit=2)
    assert page == (ones[::-1][:2], ones[::-1][1])
    assert await listed(acme, workflow_id=one, limit=2, cursor=page[1]) == ([ones[0]], None)
    assert await listed(acme, limit=5) == (newest_first, None)


async def test_list_filters_that_are_not_valid_answer_422_naming_the_parameter(
    service: Service,
) -> None:
    acme = await service.org()

    for params, path in (
        ({"status": "finished"}, "query.status"),
        ({"created_after": "yesterday"}, "query.created_after"),
        ({"created_before": "2026-13-01T00:00:00Z"}, "query.created_before"),
        ({"limit": 0}, "query.limit"),
        ({"limit": 201}, "query.limit"),
        ({"workflow_id": "not-an-id"}, "query.workflow_id"),
    ):
        response = await acme.client.get("/v1/runs", params=params)
        error = error_of(response, 422, "invalid_request")
        assert [d["path"] for d in error["details"]] == [path], params


def assert_exchange(attempt: dict[str, Any], url: str, step_run_id: str) -> None:
    """The attempt recorded the request as sent (credentials hidden) and the 201 answer."""
    request = attempt["request"]
    # The flags say whether the run view (or the attempt log) cut a part: nothing here.
    assert set(request) == {
        "method",
        "url",
        "headers",
        "body",
        "body_truncated",
        "body_removed",
        "headers_truncated",
    }
    assert request["body_truncated"] is False
    assert request["headers_truncated"] is False
    assert request["method"] == "POST"
    assert request["url"] == url
    assert request["body"] == '{"inquiry":"inq_1"}'
    sent = headers_of(request["headers"])
    assert sent["authorization"] == "Bearer [redacted]"
    assert sent["idempotency-key"] == step_run_id
    assert sent["callout-attempt"] == "1"
    assert sent["content-type"] == "application/json"
    response = attempt["response"]
    assert set(response) == {
        "status",
        "headers",
        "body",
        "body_truncated",
        "body_removed",
        "headers_truncated",
    }
    assert response["headers_truncated"] is False
    assert response["status"] == 201
    assert json.loads(response["body"]) == {"id": "u_1"}
    assert response["body_truncated"] is False
    assert headers_of(response["headers"])["x-request-id"] == "req-1"


async def test_a_run_shows_each_attempt_with_timing_outcome_and_the_redacted_exchange(
    service: Service, https_server: HttpsServer
) -> None:
    https_server.script("/users", reply(201, '{"id": "u_1"}', headers={"X-Request-Id": "req-1"}))
    acme = await service.org()
    await acme.ok("POST", "/v1/secrets", 201, json={"name": "tok", "value": "tok-value-9"})
    doc = document(
        https_server.url("/users"),
        headers=[{"key": "Authorization", "value": "Bearer {{ secrets.tok }}"}],
    )
    workflow_id = await published(acme, doc)
    version_id = (await acme.ok("GET", f"/v1/workflows/{workflow_id}"))["live_version"]["id"]
    run_id = await trigger(acme, workflow_id, "inq_1")

    async with working(service):
        run = await finished_run(acme, run_id)

    assert run["id"] == run_id
    assert run["status"] == "completed"
    assert run["workflow_id"] == workflow_id
    assert run["version_id"] == version_id
    assert run["workflow_name"] == "Create the user"
    assert run["trigger"] == {"id": "inq_1"}
    for field in ("created_at", "updated_at", "finished_at"):
        assert ISO_UTC.fullmatch(run[field]), field
    [step] = run["steps"]
    assert step["id"] == "create_user"
    assert re.fullmatch(r"stp_[0-9A-Z]{26}", step["step_run_id"])
    assert step["status"] == "succeeded"
    assert step["resumed_from"] is None
    assert step["next_attempt_at"] is None
    assert step["error"] is None
    assert step["output"]["status"] == 201
    assert step["output"]["body"] == {"id": "u_1"}
    assert step["output"]["headers"]["x-request-id"] == "req-1"
    [attempt] = step["attempts"]
    assert attempt["number"] == 1
    assert ISO_UTC.fullmatch(attempt["started_at"])
    started = seconds_of(attempt["started_at"])
    assert seconds_of(run["created_at"]) - 0.001 <= started <= seconds_of(run["finished_at"])
    assert isinstance(attempt["duration_ms"], int)
    assert 0 <= attempt["duration_ms"] <= 5000
    assert started + attempt["duration_ms"] / 1000 <= seconds_of(run["finished_at"]) + 0.002
    assert attempt["outcome"] == "succeeded"
    assert attempt["status"] == 201
    assert attempt["error"] is None
    assert attempt["next_attempt_at"] is None
    assert_exchange(attempt, https_server.url("/users"), step["step_run_id"])
    [hit] = https_server.hits_on("/users")
    assert hit.headers["Authorization"] == "Bearer tok-value-9"
    assert "tok-value-9" not in json.dumps(run)


async def test_a_step_waiting_for_its_retry_shows_when_the_next_attempt_is_due(
    service: Service, https_server: HttpsServer
) -> None:
    https_server.script("/flaky", reply(503, '{"busy": true}'), reply(200, '{"ok": true}'))
    acme = await service.org()
    workflow_id = await published(acme, document(https_server.url("/flaky"), retry_intervals=[1]))
    run_id = await trigger(acme, workflow_id, "inq_1")

    async with working(service):
        run = await run_until(acme, run_id, waiting)
        done = await finished_run(acme, run_id)

    assert run["status"] == "running"
    [step] = run["steps"]
    [first] = step["attempts"]
    assert first["number"] == 1
    assert first["outcome"] == "failed"
    assert first["status"] == 503
    assert first["error"]["type"] == "http_status"
    assert first["error"]["status"] == 503
    assert first["error"]["body"] == {"busy": True}
    assert first["response"]["status"] == 503
    assert ISO_UTC.fullmatch(step["next_attempt_at"])
    assert first["next_attempt_at"] == step["next_attempt_at"]
    ended = seconds_of(first["started_at"]) + first["duration_ms"] / 1000
    assert seconds_of(step["next_attempt_at"]) - ended == pytest.approx(1.0, abs=0.005)

    assert done["status"] == "completed"
    [step] = done["steps"]
    assert step["status"] == "succeeded"
    assert step["next_attempt_at"] is None
    first, second = step["attempts"]
    assert first["next_attempt_at"] == run["steps"][0]["next_attempt_at"]
    assert second["number"] == 2
    assert second["outcome"] == "succeeded"
    assert second["next_attempt_at"] is None
    assert headers_of(second["request"]["headers"])["callout-attempt"] == "2"
    one, two = https_server.hits_on("/flaky")
    assert one.headers["Idempotency-Key"] == two.headers["Idempotency-Key"]
    assert two.at - one.at >= 0.95


async def test_resuming_a_failed_run_sends_the_failed_step_again_with_a_new_idempotency_key(
    service: Service, https_server: HttpsServer
) -> None:
    https_server.script("/flaky", reply(500, '{"oops": 1}'), reply(200, '{"id": "u_1"}'))
    acme = await service.org()
    workflow_id = await published(acme, document(https_server.url("/flaky")))
    run_id = await trigger(acme, workflow_id, "inq_1")
    async with working(service):
        failed = await finished_run(acme, run_id)

    assert failed["status"] == "failed"
    assert ISO_UTC.fullmatch(failed["finished_at"])
    [errored] = failed["steps"]
    assert errored["status"] == "errored"
    assert errored["error"]["type"] == "http_status"
    assert errored["error"]["status"] == 500
    assert errored["error"]["body"] == {"oops": 1}
    assert [a["outcome"] for a in errored["attempts"]] == ["failed"]

    resumed = await acme.ok("POST", f"/v1/runs/{run_id}/resume")

    assert set(resumed) == {"run", "step_run_id"}
    assert resumed["run"]["id"] == run_id
    assert resumed["run"]["status"] == "running"
    assert resumed["run"]["finished_at"] is None
    assert re.fullmatch(r"stp_[0-9A-Z]{26}", resumed["step_run_id"])
    assert resumed["step_run_id"] != errored["step_run_id"]
    async with working(service):
        done = await finished_run(acme, run_id)
    assert done["status"] == "completed"
    old, new = done["steps"]
    assert old == errored
    assert new["id"] == "create_user"
    assert new["step_run_id"] == resumed["step_run_id"]
    assert new["resumed_from"] == errored["step_run_id"]
    assert new["status"] == "succeeded"
    assert new["output"]["body"] == {"id": "u_1"}
    assert [a["number"] for a in new["attempts"]] == [1]
    first, second = https_server.hits_on("/flaky")
    assert first.headers["Idempotency-Key"] == errored["step_run_id"]
    assert second.headers["Idempotency-Key"] == resumed["step_run_id"]
    assert second.headers["Callout-Attempt"] == "1"
    assert second.body == first.body

    again = await acme.client.post(f"/v1/runs/{run_id}/resume")
    error = error_of(again, 409, "conflict")
    assert "completed" in error["message"]
    assert len((await acme.ok("GET", f"/v1/runs/{run_id}"))["steps"]) == 2


async def test_resuming_runs_the_failed_step_and_then_the_steps_it_skipped(
    service: Service, https_server: HttpsServer
) -> None:
    https_server.script("/first", reply(500), reply(200, '{"id": "u_1"}'))
    https_server.script("/second", reply(200, '{"done": true}'))
    acme = await service.org()
    doc = document(https_server.url("/first"))
    doc["steps"].append(
        {
            "id": "notify",
            "action": "make_https_request",
            "url": https_server.url("/second"),
            "body": {"user": "{{ steps.create_user.body.id }}"},
        }
    )
    workflow_id = await published(acme, doc)
    run_id = await trigger(acme, workflow_id, "inq_1")
    async with working(service):
        failed = await finished_run(acme, run_id)

    assert failed["status"] == "failed"
    assert [s["status"] for s in failed["steps"]] == ["errored", "skipped"]
    await acme.ok("POST", f"/v1/runs/{run_id}/resume")
    async with working(service):
        done = await finished_run(acme, run_id)

    assert done["status"] == "completed"
    assert [(s["id"], s["status"]) for s in done["steps"]] == [
        ("create_user", "errored"),
        ("create_user", "succeeded"),
        ("notify", "succeeded"),
    ]
    [hit] = https_server.hits_on("/second")
    assert json.loads(hit.body) == {"user": "u_1"}


async def test_only_a_failed_run_may_be_resumed(service: Service) -> None:
    acme = await service.org()
    workflow_id = await published(acme, document("https://api.test/users"))
    pending = await trigger(acme, workflow_id, "inq_1")
    cancelled = await trigger(acme, workflow_id, "inq_2")
    await acme.ok("POST", f"/v1/runs/{cancelled}/cancel")

    for run_id, status in ((pending, "pending"), (cancelled, "cancelled")):
        response = await acme.client.post(f"/v1/runs/{run_id}/resume")
        assert status in error_of(response, 409, "conflict")["message"]
        assert (await acme.ok("GET", f"/v1/runs/{run_id}"))["status"] == status
    error_of(await acme.client.post(f"/v1/runs/{UNKNOWN_RUN}/resume"), 404, "not_found")
    error_of(await acme.client.post(f"/v1/runs/{UNKNOWN_RUN}/cancel"), 404, "not_found")
    error_of(await acme.client.get(f"/v1/runs/{UNKNOWN_RUN}"), 404, "not_found")


async def test_cancelling_a_run_waiting_for_a_retry_stops_it_for_good(
    service: Service, https_server: HttpsServer
) -> None:
    https_server.script("/busy", reply(503, '{"busy": true}'))
    acme = await service.org()
    workflow_id = await published(acme, document(https_server.url("/busy"), retry_intervals=[60]))
    cancelled = await trigger(acme, workflow_id, "inq_cancelled")
    control = await trigger(acme, workflow_id, "inq_control")
    async with working(service):
        await run_until(acme, cancelled, waiting)
        await run_until(acme, control, waiting)

    answer = await acme.ok("POST", f"/v1/runs/{cancelled}/cancel")

    assert answer["id"] == cancelled
    assert answer["status"] == "cancelled"
    assert ISO_UTC.fullmatch(answer["finished_at"])
    run = await acme.ok("GET", f"/v1/runs/{cancelled}")
    assert run["status"] == "cancelled"
    [step] = run["steps"]
    assert step["status"] == "cancelled"
    assert step["next_attempt_at"] is None
    assert [a["outcome"] for a in step["attempts"]] == ["failed"]
    # Once the retry is due, a worker sends the control's retry, and nothing else.
    await time_passes(service, 120)
    async with working(service):
        control_run = await finished_run(acme, control)
        await asyncio.sleep(0.3)
    assert control_run["status"] == "failed"
    assert len(control_run["steps"][0]["attempts"]) == 2
    bodies = [json.loads(hit.body)["inquiry"] for hit in https_server.hits_on("/busy")]
    assert sorted(bodies) == ["inq_cancelled", "inq_control", "inq_control"]
    assert await acme.ok("GET", f"/v1/runs/{cancelled}") == run

    again = await acme.client.post(f"/v1/runs/{cancelled}/cancel")
    assert "cancelled" in error_of(again, 409, "conflict")["message"]
    finished = await acme.client.post(f"/v1/runs/{control}/cancel")
    assert "failed" in error_of(finished, 409, "conflict")["message"]


async def test_a_pending_run_cancelled_before_any_worker_is_never_sent(
    service: Service, https_server: HttpsServer
) -> None:
    acme = await service.org()
    workflow_id = await published(acme, document(https_server.url("/users")))
    run_id = await trigger(acme, workflow_id, "inq_1")

    answer = await acme.ok("POST", f"/v1/runs/{run_id}/cancel")
    async with working(service):
        await asyncio.sleep(0.3)

    assert answer["status"] == "cancelled"
    run = await acme.ok("GET", f"/v1/runs/{run_id}")
    assert run["status"] == "cancelled"
    assert [(s["status"], s["attempts"]) for s in run["steps"]] == [("cancelled", [])]
    assert https_server.hits == []


async def test_cancelling_a_run_mid_attempt_marks_it_interrupted_and_drops_the_late_result(
    service: Service, https_server: HttpsServer
) -> None:
    https_server.script("/slow", reply(200, '{"late": true}', delay=0.5))
    acme = await service.org()
    workflow_id = await published(acme, document(https_server.url("/slow")))
    run_id = await trigger(acme, workflow_id, "inq_1")

    async with working(service):
        sending = await run_until(
            acme, run_id, lambda run: bool(run["steps"][0]["attempts"]) and bool(https_server.hits)
        )
        answer = await acme.ok("POST", f"/v1/runs/{run_id}/cancel")
        # Leaving the block stops the worker, which first lets the attempt in flight
        # end (grace: 10 s): the late answer arrives and its result meets the fence.

    assert sending["steps"][0]["attempts"][0]["outcome"] == "sending"
    assert answer["status"] == "cancelled"
    run = await acme.ok("GET", f"/v1/runs/{run_id}")
    assert run["status"] == "cancelled"
    [step] = run["steps"]
    assert step["status"] == "cancelled"
    assert step["output"] is None
    [attempt] = step["attempts"]
    assert attempt["outcome"] == "interrupted"
    assert attempt["response"] is None
    assert isinstance(attempt["duration_ms"], int)
    assert len(https_server.hits) == 1
