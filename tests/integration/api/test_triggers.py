"""Triggers over the API: starting runs, refusals on record, idempotency keys, and events."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import datetime
from typing import Any

import httpx

from support.api_clients import Org, Service, document, error_of

ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
UNKNOWN_WORKFLOW = "wfl_0000000000ZZZZZZZZZZZZZZZZ"
URL = "https://api.test/users"


def listening_to(event: str) -> dict[str, Any]:
    """A one-step document whose trigger is `event`."""
    doc = document(URL)
    doc["trigger"]["event"] = event
    return doc


async def create(org: Org, doc: dict[str, Any]) -> str:
    """Create a workflow (a draft only); return its id."""
    created = await org.ok("POST", "/v1/workflows", 201, json={"document": doc})
    return str(created["workflow"]["id"])


async def published(org: Org, doc: dict[str, Any]) -> tuple[str, str]:
    """Create and publish a workflow of `doc`; return its id and its live version's id."""
    workflow_id = await create(org, doc)
    version = await org.ok("POST", f"/v1/workflows/{workflow_id}/publish")
    return workflow_id, str(version["id"])


async def trigger(
    org: Org, workflow_id: str, payload: Any, key: str | None = None
) -> httpx.Response:
    """Send a trigger call (with `key` as its Idempotency-Key)."""
    headers = {"Idempotency-Key": key} if key is not None else {}
    return await org.client.post(
        f"/v1/workflows/{workflow_id}/trigger", json={"payload": payload}, headers=headers
    )


async def send_event(org: Org, name: str, payload: Any, key: str | None = None) -> httpx.Response:
    """Send an event (with `key` as its Idempotency-Key)."""
    headers = {"Idempotency-Key": key} if key is not None else {}
    return await org.client.post(
        "/v1/events", json={"name": name, "payload": payload}, headers=headers
    )


async def run_ids(org: Org, **params: str) -> list[str]:
    """The ids of the organization's runs, newest first."""
    page = await org.ok("GET", "/v1/runs", params={"limit": 200, **params})
    return [run["id"] for run in page["data"]]


async def calls_of(org: Org) -> list[dict[str, Any]]:
    """The organization's recorded trigger calls, newest first."""
    page = await org.ok("GET", "/v1/trigger-calls", params={"limit": 200})
    calls: list[dict[str, Any]] = page["data"]
    return calls


async def test_a_trigger_answers_202_with_the_run_and_the_run_is_listed(service: Service) -> None:
    acme = await service.org()
    workflow_id, version_id = await published(acme, document(URL))
    before = time.time()

    response = await trigger(acme, workflow_id, {"id": "inq_1"})

    assert response.status_code == 202, response.text
    assert "Idempotent-Replayed" not in response.headers
    started = response.json()
    assert set(started) == {"run_id", "workflow_id", "version_id", "trigger_call_id", "status"}
    assert re.fullmatch(r"wfr_[0-9A-Z]{26}", started["run_id"])
    assert re.fullmatch(r"trg_[0-9A-Z]{26}", started["trigger_call_id"])
    assert started["workflow_id"] == workflow_id
    assert started["version_id"] == version_id
    assert started["status"] == "pending"
    page = await acme.ok("GET", "/v1/runs")
    [listed] = page["data"]
    assert listed["id"] == started["run_id"]
    assert listed["workflow_id"] == workflow_id
    assert listed["version_id"] == version_id
    assert listed["workflow_name"] == "Create the user"
    assert listed["status"] == "pending"
    assert listed["finished_at"] is None
    assert ISO_UTC.fullmatch(listed["created_at"])
    run = await acme.ok("GET", f"/v1/runs/{started['run_id']}")
    assert run["trigger"] == {"id": "inq_1"}
    assert [step["id"] for step in run["steps"]] == ["create_user"]
    [call] = await calls_of(acme)
    assert call["id"] == started["trigger_call_id"]
    assert call["workflow_id"] == workflow_id
    assert call["event"] is None
    assert call["idempotency_key"] is None
    assert call["status_code"] == 202
    assert call["response"] == started
    assert ISO_UTC.fullmatch(call["created_at"])
    assert datetime.fromisoformat(call["created_at"]).timestamp() >= before - 0.001


async def test_a_payload_failing_the_trigger_schema_is_refused_422_listing_every_problem(
    service: Service,
) -> None:
    acme = await service.org()
    doc = document(URL)
    doc["trigger"]["schema"] = {
        "type": "object",
        "required": ["id", "email"],
        "properties": {"id": {"type": "string"}, "count": {"type": "integer"}},
    }
    workflow_id, _ = await published(acme, doc)

    response = await trigger(acme, workflow_id, {"id": 5, "count": "many"})

    error = error_of(response, 422, "invalid_payload")
    assert "3 problem(s)" in error["message"]
    details = sorted(d["message"] for d in error["details"])
    assert len(details) == 3
    assert {d["path"] for d in error["details"]} == {"trigger payload"}
    assert details == [
        '$.count: "many" is not of type "integer"',
        '$.id: 5 is not of type "string"',
        '$: "email" is a required property',
    ]
    assert await run_ids(acme) == []
    [call] = await calls_of(acme)
    assert call["workflow_id"] == workflow_id
    assert call["status_code"] == 422
    assert call["idempotency_key"] is None
    assert call["response"] == {"error": error}


async def test_a_workflow_never_published_is_refused_409_not_published_and_recorded(
    service: Service,
) -> None:
    acme = await service.org()
    workflow_id = await create(acme, document(URL))

    response = await trigger(acme, workflow_id, {"id": "inq_1"})

    error = error_of(response, 409, "not_published")
    assert workflow_id in error["message"]
    assert await run_ids(acme) == []
    [call] = await calls_of(acme)
    assert call["status_code"] == 409
    assert call["response"]["error"]["code"] == "not_published"


async def test_an_archived_workflow_is_refused_409_workflow_archived(service: Service) -> None:
    acme = await service.org()
    workflow_id, _ = await published(acme, document(URL))
    await acme.ok("POST", f"/v1/workflows/{workflow_id}/archive")

    response = await trigger(acme, workflow_id, {"id": "inq_1"})

    error_of(response, 409, "workflow_archived")
    assert await run_ids(acme) == []


async def test_a_refused_trigger_is_recorded_exactly_as_it_was_answered(
    service: Service,
) -> None:
    acme = await service.org()
    draft_only = await create(acme, document(URL))
    archived, _ = await published(acme, document(URL))
    await acme.ok("POST", f"/v1/workflows/{archived}/archive")
    doc = document(URL)
    doc["trigger"]["schema"] = {"type": "object", "required": ["email"]}
    strict, _ = await published(acme, doc)

    answers = []
    for workflow_id, code in (
        (draft_only, "not_published"),
        (archived, "workflow_archived"),
        (strict, "invalid_payload"),
    ):
        response = await trigger(acme, workflow_id, {"id": "inq_1"}, key=f"key-{code}")
        error_of(response, 409 if code != "invalid_payload" else 422, code)
        answers.append((response.status_code, response.json()))
        await asyncio.sleep(0.003)  # ids sort by their millisecond

    recorded = [(call["status_code"], call["response"]) for call in await calls_of(acme)]
    assert recorded == answers[::-1]


async def test_an_unknown_workflow_answers_404_and_starts_nothing(service: Service) -> None:
    acme = await service.org()

    response = await trigger(acme, UNKNOWN_WORKFLOW, {"id": "inq_1"})

    error_of(response, 404, "not_found")
    assert await run_ids(acme) == []


async def test_a_repeated_call_with_the_same_key_and_body_replays_the_first_answer(
    service: Service,
) -> None:
    acme = await service.org()
    workflow_id, _ = await published(acme, document(URL))

    first = await trigger(acme, workflow_id, {"id": "inq_1"}, key="order-1")
    second = await trigger(acme, workflow_id, {"id": "inq_1"}, key="order-1")

    assert first.status_code == second.status_code == 202
    assert second.json() == first.json()
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["Idempotent-Replayed"] == "true"
    assert await run_ids(acme) == [first.json()["run_id"]]
    [call] = await calls_of(acme)
    assert call["idempotency_key"] == "order-1"
    assert call["id"] == first.json()["trigger_call_id"]


async def test_the_same_key_with_another_body_is_refused_409_idempotency_key_reused(
    service: Service,
) -> None:
    acme = await service.org()
    workflow_id, _ = await published(acme, document(URL))
    other_id, _ = await published(acme, document(URL))
    first = await trigger(acme, workflow_id, {"id": "inq_1"}, key="order-1")

    other_payload = await trigger(acme, workflow_id, {"id": "inq_2"}, key="order-1")
    other_workflow = await trigger(acme, other_id, {"id": "inq_1"}, key="order-1")

    for response in (other_payload, other_workflow):
        error_of(response, 409, "idempotency_key_reused")
        assert "Idempotent-Replayed" not in response.headers
    assert await run_ids(acme) == [first.json()["run_id"]]
    again = await trigger(acme, workflow_id, {"id": "inq_1"}, key="order-1")
    assert again.json() == first.json()


async def test_keys_are_per_organization(service: Service) -> None:
    acme = await service.org("Acme")
    globex = await service.org("Globex")
    acme_workflow, _ = await published(acme, document(URL))
    globex_workflow, _ = await published(globex, document(URL))

    acme_first = await trigger(acme, acme_workflow, {"id": "inq_1"}, key="shared-key")
    globex_first = await trigger(globex, globex_workflow, {"id": "inq_1"}, key="shared-key")

    assert acme_first.status_code == globex_first.status_code == 202
    assert "Idempotent-Replayed" not in globex_first.headers
    assert globex_first.json()["run_id"] != acme_first.json()["run_id"]
    assert await run_ids(acme) == [acme_first.json()["run_id"]]
    assert await run_ids(globex) == [globex_first.json()["run_id"]]
    globex_again = await trigger(globex, globex_workflow, {"id": "inq_1"}, key="shared-key")
    assert globex_again.headers["Idempotent-Replayed"] == "true"
    assert globex_again.json() == globex_first.json()


async def test_a_refused_call_with_a_key_may_be_retried_with_that_key_once_fixed(
    service: Service,
) -> None:
    acme = await service.org()
    workflow_id, _ = await published(acme, document(URL))

    refused = await trigger(acme, workflow_id, {"id": 42}, key="order-7")
    refused_again = await trigger(acme, workflow_id, {"id": 42}, key="order-7")
    fixed = await trigger(acme, workflow_id, {"id": "inq_7"}, key="order-7")
    replayed = await trigger(acme, workflow_id, {"id": "inq_7"}, key="order-7")

    error_of(refused, 422, "invalid_payload")
    error_of(refused_again, 422, "invalid_payload")
    assert "Idempotent-Replayed" not in refused_again.headers
    assert fixed.status_code == 202, fixed.text
    assert "Idempotent-Replayed" not in fixed.headers
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json() == fixed.json()
    assert await run_ids(acme) == [fixed.json()["run_id"]]
    calls = await calls_of(acme)
    assert [c["status_code"] for c in calls] == [202, 422, 422]
    assert [c["idempotency_key"] for c in calls] == ["order-7", None, None]


async def test_concurrent_calls_with_one_key_start_one_run_and_all_get_its_answer(
    service: Service,
) -> None:
    acme = await service.org()
    workflow_id, _ = await published(acme, document(URL))
    rounds = 4

    for number in range(rounds):
        answers = await asyncio.gather(
            trigger(acme, workflow_id, {"id": "inq_1"}, key=f"race-{number}"),
            trigger(acme, workflow_id, {"id": "inq_1"}, key=f"race-{number}"),
        )
        assert [a.status_code for a in answers] == [202, 202], [a.text for a in answers]
        assert answers[0].json() == answers[1].json()
        replays = [a.headers.get("Idempotent-Replayed") for a in answers]
        assert sorted(replays, key=str) == [None, "true"], replays

    runs = await run_ids(acme)
    assert len(runs) == rounds
    keyed = [c["idempotency_key"] for c in await calls_of(acme)]
    assert sorted(keyed) == [f"race-{n}" for n in range(rounds)]


async def test_an_event_starts_the_live_version_of_each_published_unarchived_listener(
    service: Service,
) -> None:
    acme = await service.org()
    first, first_version = await published(acme, listening_to("inquiry.completed"))
    second, second_version = await published(acme, listening_to("inquiry.completed"))
    await published(acme, listening_to("inquiry.failed"))
    archived, _ = await published(acme, listening_to("inquiry.completed"))
    await acme.ok("POST", f"/v1/workflows/{archived}/archive")
    await create(acme, listening_to("inquiry.completed"))
    other = await service.org("Other")
    await published(other, listening_to("inquiry.completed"))

    response = await send_event(acme, "inquiry.completed", {"id": "inq_1"})

    assert response.status_code == 202, response.text
    out = response.json()
    assert set(out) == {"trigger_call_id", "event", "runs", "refused"}
    assert out["event"] == "inquiry.completed"
    assert out["trigger_call_id"].startswith("trg_")
    assert out["refused"] == []
    started = {run["workflow_id"]: run for run in out["runs"]}
    assert set(started) == {first, second}
    assert started[first]["version_id"] == first_version
    assert started[second]["version_id"] == second_version
    assert sorted(await run_ids(acme)) == sorted(run["run_id"] for run in out["runs"])
    for run in out["runs"]:
        shown = await acme.ok("GET", f"/v1/runs/{run['run_id']}")
        assert shown["workflow_id"] == run["workflow_id"]
        assert shown["trigger"] == {"id": "inq_1"}
    assert await run_ids(other) == []
    [call] = await calls_of(acme)
    assert call["event"] == "inquiry.completed"
    assert call["workflow_id"] is None
    assert call["status_code"] == 202
    assert call["response"] == out


async def test_an_event_no_workflow_listens_to_answers_202_with_no_runs(service: Service) -> None:
    acme = await service.org()
    await published(acme, listening_to("inquiry.completed"))

    response = await send_event(acme, "nobody.listens", {"id": "inq_1"})

    assert response.status_code == 202, response.text
    out = response.json()
    assert out["event"] == "nobody.listens"
    assert out["runs"] == []
    assert out["refused"] == []
    assert await run_ids(acme) == []
    [call] = await calls_of(acme)
    assert call["status_code"] == 202
    assert call["event"] == "nobody.listens"


async def test_an_event_lists_listeners_that_refused_its_payload(service: Service) -> None:
    acme = await service.org()
    strict = listening_to("inquiry.completed")
    strict["trigger"]["schema"]["required"] = ["id", "email"]
    lenient, _ = await published(acme, listening_to("inquiry.completed"))
    refusing, _ = await published(acme, strict)

    response = await send_event(acme, "inquiry.completed", {"id": "inq_1"})

    out = response.json()
    assert response.status_code == 202, response.text
    assert [run["workflow_id"] for run in out["runs"]] == [lenient]
    [refused] = out["refused"]
    assert refused["workflow_id"] == refusing
    assert refused["error"]["code"] == "invalid_payload"
    assert len(refused["error"]["details"]) == 1
    assert '"email" is a required property' in refused["error"]["details"][0]["message"]
    assert await run_ids(acme) == [out["runs"][0]["run_id"]]


async def test_an_event_with_an_idempotency_key_replays_its_first_answer(
    service: Service,
) -> None:
    acme = await service.org()
    await published(acme, listening_to("inquiry.completed"))
    await published(acme, listening_to("inquiry.completed"))

    first = await send_event(acme, "inquiry.completed", {"id": "inq_1"}, key="event-1")
    second = await send_event(acme, "inquiry.completed", {"id": "inq_1"}, key="event-1")
    reused = await send_event(acme, "inquiry.completed", {"id": "inq_2"}, key="event-1")
    other_name = await send_event(acme, "inquiry.failed", {"id": "inq_1"}, key="event-1")

    assert first.status_code == second.status_code == 202
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert len(first.json()["runs"]) == 2
    error_of(reused, 409, "idempotency_key_reused")
    error_of(other_name, 409, "idempotency_key_reused")
    assert sorted(await run_ids(acme)) == sorted(r["run_id"] for r in first.json()["runs"])
    [call] = await calls_of(acme)
    assert call["idempotency_key"] == "event-1"


async def test_an_event_key_is_kept_apart_from_the_same_key_on_a_trigger(
    service: Service,
) -> None:
    acme = await service.org()
    workflow_id, _ = await published(acme, listening_to("inquiry.completed"))
    started = await trigger(acme, workflow_id, {"id": "inq_1"}, key="one-key")

    event = await send_event(acme, "inquiry.completed", {"id": "inq_1"}, key="one-key")

    # One key names one call: an event is a different request from a trigger.
    error_of(event, 409, "idempotency_key_reused")
    assert await run_ids(acme) == [started.json()["run_id"]]


async def test_an_event_every_listener_refused_keeps_no_key_so_it_may_be_retried_fixed(
    service: Service,
) -> None:
    acme = await service.org()
    strict = listening_to("inquiry.completed")
    strict["trigger"]["schema"]["required"] = ["id", "email"]
    workflow_id, _ = await published(acme, strict)

    refused = await send_event(acme, "inquiry.completed", {"id": "inq_1"}, key="event-2")
    fixed = await send_event(
        acme, "inquiry.completed", {"id": "inq_1", "email": "a@b.test"}, key="event-2"
    )

    assert refused.status_code == 202, refused.text
    assert refused.json()["runs"] == []
    assert [r["workflow_id"] for r in refused.json()["refused"]] == [workflow_id]
    assert fixed.status_code == 202, fixed.text
    assert "Idempotent-Replayed" not in fixed.headers
    [run] = fixed.json()["runs"]
    assert await run_ids(acme) == [run["run_id"]]
    assert [c["idempotency_key"] for c in await calls_of(acme)] == ["event-2", None]


async def test_an_idempotency_key_outside_1_to_255_visible_characters_is_refused_422(
    service: Service,
) -> None:
    acme = await service.org()
    workflow_id, _ = await published(acme, document(URL))

    for key in ("has space", "k" * 256, "tab\tkey"):
        response = await trigger(acme, workflow_id, {"id": "inq_1"}, key=key)
        error = error_of(response, 422, "invalid_request")
        assert [d["path"].lower() for d in error["details"]] == ["header.idempotency-key"], key

    assert await run_ids(acme) == []
    longest = await trigger(acme, workflow_id, {"id": "inq_1"}, key="~" * 255)
    assert longest.status_code == 202, longest.text


async def test_trigger_calls_are_listed_newest_first_by_workflow_and_paged(
    service: Service,
) -> None:
    acme = await service.org()
    one, _ = await published(acme, listening_to("inquiry.completed"))
    two, _ = await published(acme, listening_to("inquiry.other"))
    statuses = []
    for call in (
        trigger(acme, one, {"id": "inq_1"}),
        trigger(acme, two, {"id": "inq_2"}),
        trigger(acme, one, {"id": 3}),
        send_event(acme, "inquiry.completed", {"id": "inq_4"}),
    ):
        response = await call
        statuses.append((response.status_code, response.json().get("trigger_call_id")))
        await asyncio.sleep(0.003)  # ids sort by their millisecond
    calls = await calls_of(acme)
    newest_first = [call["id"] for call in calls]

    assert [status for status, _ in statuses] == [202, 202, 422, 202]
    assert [call["status_code"] for call in calls] == [202, 422, 202, 202]
    assert newest_first[0] == statuses[3][1]
    assert newest_first[2:] == [statuses[1][1], statuses[0][1]]
    assert calls[1]["response"]["error"]["code"] == "invalid_payload"
    assert [c["workflow_id"] for c in calls] == [None, one, two, one]
    assert [c["event"] for c in calls] == ["inquiry.completed", None, None, None]
    by_one = await acme.ok("GET", "/v1/trigger-calls", params={"workflow_id": one})
    assert [c["id"] for c in by_one["data"]] == [newest_first[1], newest_first[3]]
    first = await acme.ok("GET", "/v1/trigger-calls", params={"limit": 3})
    assert [c["id"] for c in first["data"]] == newest_first[:3]
    assert first["next_cursor"] == newest_first[2]
    last = await acme.ok(
        "GET", "/v1/trigger-calls", params={"limit": 3, "cursor": first["next_cursor"]}
    )
    assert [c["id"] for c in last["data"]] == newest_first[3:]
    assert last["next_cursor"] is None
    other = await service.org("Other")
    assert (await other.ok("GET", "/v1/trigger-calls"))["data"] == []


async def test_an_event_follows_the_live_version_not_the_draft(service: Service) -> None:
    acme = await service.org()
    workflow_id, v1 = await published(acme, listening_to("inquiry.completed"))
    await acme.ok(
        "PUT",
        f"/v1/workflows/{workflow_id}/draft",
        json={"document": listening_to("inquiry.approved")},
    )

    while_draft = await send_event(acme, "inquiry.approved", {"id": "inq_1"})
    live = await send_event(acme, "inquiry.completed", {"id": "inq_2"})
    v2 = (await acme.ok("POST", f"/v1/workflows/{workflow_id}/publish"))["id"]
    old_event = await send_event(acme, "inquiry.completed", {"id": "inq_3"})
    new_event = await send_event(acme, "inquiry.approved", {"id": "inq_4"})

    assert while_draft.json()["runs"] == []
    assert [(r["workflow_id"], r["version_id"]) for r in live.json()["runs"]] == [(workflow_id, v1)]
    assert old_event.json()["runs"] == []
    assert [(r["workflow_id"], r["version_id"]) for r in new_event.json()["runs"]] == [
        (workflow_id, v2)
    ]
    assert len(await run_ids(acme)) == 2


async def test_a_replay_answers_as_the_first_call_did_even_after_the_workflow_is_archived(
    service: Service,
) -> None:
    acme = await service.org()
    workflow_id, _ = await published(acme, document(URL))
    first = await trigger(acme, workflow_id, {"id": "inq_1"}, key="order-9")
    await acme.ok("POST", f"/v1/workflows/{workflow_id}/archive")

    replayed = await trigger(acme, workflow_id, {"id": "inq_1"}, key="order-9")
    fresh = await trigger(acme, workflow_id, {"id": "inq_1"}, key="order-10")

    assert replayed.status_code == 202
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json() == first.json()
    error_of(fresh, 409, "workflow_archived")
    assert await run_ids(acme) == [first.json()["run_id"]]
