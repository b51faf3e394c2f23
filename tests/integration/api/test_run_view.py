"""Reading a run stays small whatever the run holds: cut values, latest attempts, ETag.

The run view (`GET /v1/runs/{id}`) gives each large field an equal share of about
1 MiB (at most 16 KiB each) and the latest attempts of each step run; one step run
whole and the whole trigger have their own routes (docs/service.md, "Reading a run").
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from callout.store.run_reading import VIEW_ATTEMPTS, VIEW_BUDGET_CHARS, VIEW_MAX_CHARS
from callout.store.tables import attempts, step_runs
from support.api_clients import Org, Service, document, error_of, finished_run, working
from support.https_servers import HttpsServer, reply

KIB = 1024


async def published(org: Org, doc: dict[str, Any]) -> str:
    created = await org.ok("POST", "/v1/workflows", 201, json={"document": doc})
    workflow_id = str(created["workflow"]["id"])
    await org.ok("POST", f"/v1/workflows/{workflow_id}/publish")
    return workflow_id


async def trigger(org: Org, workflow_id: str, payload: dict[str, Any]) -> str:
    started = await org.ok(
        "POST", f"/v1/workflows/{workflow_id}/trigger", 202, json={"payload": payload}
    )
    return str(started["run_id"])


async def test_a_large_body_is_cut_in_the_run_view_and_whole_from_the_step_route(
    service: Service, https_server: HttpsServer
) -> None:
    items = [{"id": f"item-{n}", "note": "n" * 40} for n in range(4000)]  # ~260 KiB
    https_server.script("/list", reply(200, json.dumps({"items": items})))
    acme = await service.org()
    workflow_id = await published(acme, document(https_server.url("/list")))
    run_id = await trigger(acme, workflow_id, {"id": "inq_1"})
    async with working(service):
        await finished_run(acme, run_id)

    response = await acme.client.get(f"/v1/runs/{run_id}")
    assert response.status_code == 200
    assert len(response.content) < 3 * VIEW_MAX_CHARS
    run = response.json()
    [step] = run["steps"]
    output = step["output"]
    assert output["status"] == 200
    assert output["body_truncated"] is True
    # The start of the body's JSON text (SQLite writes it without spaces, PostgreSQL keeps them).
    assert output["body"].replace(" ", "").startswith('{"items":[{"id":"item-0"')
    assert len(output["body"]) <= VIEW_MAX_CHARS
    assert step["attempts_total"] == 1
    [attempt] = step["attempts"]
    assert attempt["response"]["body_truncated"] is True
    assert len(attempt["response"]["body"]) <= VIEW_MAX_CHARS

    whole = await acme.ok("GET", f"/v1/runs/{run_id}/steps/{step['step_run_id']}")
    assert whole["output"]["body"] == {"items": items}
    assert "body_truncated" not in whole["output"]
    assert whole["attempts_total"] == 1
    # The attempt log keeps the first 64 KiB of the body (not cut further here).
    [logged] = whole["attempts"]
    assert logged["response"]["body_truncated"] is True
    assert len(logged["response"]["body"]) == 64 * KIB


def grow(run_id: str, steps: int, attempts_each: int, body: str) -> Any:
    """A write adding `steps` errored step runs of `attempts_each` attempts with big bodies."""

    def write(conn: sa.Connection) -> None:
        for position in range(1, steps + 1):
            step_run_id = f"stp_{position:026d}"
            conn.execute(
                step_runs.insert().values(
                    id=step_run_id,
                    run_id=run_id,
                    position=position,
                    step_id=f"s{position}",
                    status="errored",
                    output={"status": 500, "headers": {}, "body": body, "error": {}},
                    error={"type": "http_status", "message": body, "status": 500, "body": body},
                    created_at=1.0,
                    updated_at=1.0,
                )
            )
            conn.execute(
                attempts.insert(),
                [
                    {
                        "id": f"att_{position:013d}{number:013d}",
                        "step_run_id": step_run_id,
                        "number": number,
                        "status": "failed",
                        "started_at": 1.0,
                        "ended_at": 2.0,
                        "http_status": 500,
                        "error": {
                            "type": "http_status",
                            "message": "m",
                            "status": 500,
                            "body": body,
                        },
                        "request": {
                            "method": "POST",
                            "url": "https://api.test/" + "u" * 2000,
                            "headers": [["x-big", body]],
                            "body": body,
                        },
                        "response": {
                            "status": 500,
                            "headers": [["x-big", body]],
                            "body": body,
                            "body_truncated": False,
                        },
                    }
                    for number in range(1, attempts_each + 1)
                ],
            )

    return write


async def test_the_run_view_stays_within_its_budget_however_large_the_run(
    service: Service,
) -> None:
    acme = await service.org()
    workflow_id = await published(acme, document("https://api.test/users"))
    run_id = await trigger(acme, workflow_id, {"id": "inq_1"})
    # 30 more step runs of 8 attempts, each record holding 8 KiB four times: ~32 MiB,
    # where each field's share is under 1 KiB.
    await service.store.write(grow(run_id, 30, 8, "b" * 8 * KIB))

    response = await acme.client.get(f"/v1/runs/{run_id}")
    assert response.status_code == 200, response.text
    # Bodies and values get ~1 MiB together; ids, times and keys add a little.
    assert len(response.content) < VIEW_BUDGET_CHARS * 1.5, len(response.content)
    run = response.json()
    grown = run["steps"][1:]
    assert len(grown) == 30
    for step in grown:
        assert step["attempts_total"] == 8
        assert [a["number"] for a in step["attempts"]] == [4, 5, 6, 7, 8][-VIEW_ATTEMPTS:]
        assert step["output"]["body_truncated"] is True
        assert step["error"]["body_truncated"] is True
        assert step["error"]["message"].endswith("…")
        attempt = step["attempts"][-1]
        assert attempt["request"]["body_truncated"] is True
        assert attempt["request"]["headers_truncated"] is True
        assert attempt["request"]["headers"] == []
        assert attempt["request"]["url"].startswith("https://api.test/uuu")
        assert attempt["response"]["body_truncated"] is True

    whole = await acme.ok("GET", f"/v1/runs/{run_id}/steps/{grown[0]['step_run_id']}")
    assert [a["number"] for a in whole["attempts"]] == list(range(1, 9))
    assert whole["attempts"][0]["request"]["body"] == "b" * 8 * KIB
    assert whole["error"]["message"] == "b" * 8 * KIB


async def test_a_stored_value_nested_too_deep_reads_back_as_text(service: Service) -> None:
    # Only a record written before the depth limit can hold this; it must not answer 500.
    acme = await service.org()
    workflow_id = await published(acme, document("https://api.test/users"))
    run_id = await trigger(acme, workflow_id, {"id": "inq_1"})
    deep: Any = []
    for _ in range(300):
        deep = [deep]

    def write(conn: sa.Connection) -> None:
        # Its text written as is: callout's own JSON writer refuses a value this deep.
        text = sa.literal(json.dumps({"status": 200, "headers": {}, "body": deep}), sa.Text)
        output = text if conn.dialect.name == "sqlite" else sa.cast(text, sa.JSON)
        conn.execute(
            sa.update(step_runs)
            .where(step_runs.c.run_id == run_id)
            .values(status="succeeded", output=output)
        )

    await service.store.write(write)
    for path in (f"/v1/runs/{run_id}", f"/v1/runs/{run_id}/steps/{{}}"):
        run = await acme.ok("GET", f"/v1/runs/{run_id}")
        step_run_id = run["steps"][0]["step_run_id"]
        found = await acme.ok("GET", path.format(step_run_id))
        output = (found["steps"][0] if "steps" in found else found)["output"]
        assert output["status"] == 200
        assert output["body_truncated"] is True
        assert output["body"].startswith("[[[[")


async def test_a_large_trigger_is_cut_in_the_view_and_whole_from_its_route(
    service: Service,
) -> None:
    acme = await service.org()
    workflow_id = await published(acme, document("https://api.test/users"))
    payload = {"id": "inq_1", "pad": "p" * (40 * KIB)}
    run_id = await trigger(acme, workflow_id, payload)
    run = await acme.ok("GET", f"/v1/runs/{run_id}")
    assert run["trigger_truncated"] is True
    # The start of its JSON text as stored: compact.
    assert run["trigger"] == json.dumps(payload, separators=(",", ":"))[:VIEW_MAX_CHARS]
    assert await acme.ok("GET", f"/v1/runs/{run_id}/trigger") == {
        "run_id": run_id,
        "trigger": payload,
    }
    small = await trigger(acme, workflow_id, {"id": "inq_2"})
    shown = await acme.ok("GET", f"/v1/runs/{small}")
    assert shown["trigger_truncated"] is False
    assert shown["trigger"] == {"id": "inq_2"}


async def test_an_unchanged_run_answers_304_to_its_etag(
    sqlite_service: Service, https_server: HttpsServer
) -> None:
    https_server.script("/users", reply(201, '{"id": "u_1"}'))
    acme = await sqlite_service.org()
    workflow_id = await published(acme, document(https_server.url("/users")))
    run_id = await trigger(acme, workflow_id, {"id": "inq_1"})

    pending = await acme.client.get(f"/v1/runs/{run_id}")
    etag = pending.headers["etag"]
    assert pending.headers["cache-control"] == "private, no-cache"
    again = await acme.client.get(f"/v1/runs/{run_id}", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    for header in (f"W/{etag}", f'"other", {etag}', "*"):
        listed = await acme.client.get(f"/v1/runs/{run_id}", headers={"If-None-Match": header})
        assert listed.status_code == 304, header

    async with working(sqlite_service):
        await finished_run(acme, run_id)
    changed = await acme.client.get(f"/v1/runs/{run_id}", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.json()["status"] == "completed"
    assert changed.headers["etag"] != etag
    same = await acme.client.get(
        f"/v1/runs/{run_id}", headers={"If-None-Match": changed.headers["etag"]}
    )
    assert same.status_code == 304


async def test_another_organizations_step_run_and_trigger_are_not_found(
    sqlite_service: Service,
) -> None:
    acme = await sqlite_service.org()
    other = await sqlite_service.org("Other")
    workflow_id = await published(acme, document("https://api.test/users"))
    run_id = await trigger(acme, workflow_id, {"id": "inq_1"})
    step_run_id = (await acme.ok("GET", f"/v1/runs/{run_id}"))["steps"][0]["step_run_id"]
    for path in (f"/v1/runs/{run_id}/steps/{step_run_id}", f"/v1/runs/{run_id}/trigger"):
        error_of(await other.client.get(path), 404, "not_found")
    unknown = "stp_0000000000ZZZZZZZZZZZZZZZZ"
    error_of(await acme.client.get(f"/v1/runs/{run_id}/steps/{unknown}"), 404, "not_found")
