"""Secrets over the API: write-only values, rotation with a grace period, and signing with both."""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any

import pytest

from callout.model.clock import ManualClock
from callout.signing import SignatureError, verify
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
SECRET_FIELDS = {
    "id",
    "name",
    "kind",
    "version",
    "created_at",
    "updated_at",
    "previous_signs_until",
    "certificate",
}
DAY = 24 * 3600


def seconds_of(iso: str) -> float:
    """Unix seconds of a time the API shows (`...Z`)."""
    return datetime.fromisoformat(iso).timestamp()


async def signing_workflow(org: Org, url: str, **step: Any) -> str:
    """Create and publish a workflow that signs with `secrets.sig`; return its id."""
    doc = document(url, secret="{{ secrets.sig }}", **step)
    created = await org.ok("POST", "/v1/workflows", 201, json={"document": doc})
    workflow_id = str(created["workflow"]["id"])
    await org.ok("POST", f"/v1/workflows/{workflow_id}/publish")
    return workflow_id


async def run_once(service: Service, org: Org, workflow_id: str, inquiry: str) -> dict[str, Any]:
    """Trigger the workflow, run a worker until the run finishes; return the run."""
    started = await org.ok(
        "POST", f"/v1/workflows/{workflow_id}/trigger", 202, json={"payload": {"id": inquiry}}
    )
    async with working(service):
        return await finished_run(org, started["run_id"])


def rejects(header: str, body: bytes, secret: str) -> bool:
    """Say whether `verify` refuses the header under `secret`."""
    try:
        verify(header, body, [secret])
    except SignatureError:
        return True
    return False


def manual_clock(service: Service) -> ManualClock:
    """Put the API on a manual clock starting now; return it for workers to share."""
    clock = ManualClock(start=time.time())
    service.context.clock = clock
    return clock


async def test_a_created_secret_answers_201_with_its_metadata_and_never_its_value(
    service: Service,
) -> None:
    acme = await service.org()
    before = time.time()

    created = await acme.ok(
        "POST", "/v1/secrets", 201, json={"name": "crm_signing", "value": "v-crm-1"}
    )

    assert set(created) == SECRET_FIELDS
    assert created["id"].startswith("sec_")
    assert created["name"] == "crm_signing"
    assert created["version"] == 1
    assert created["previous_signs_until"] is None
    assert ISO_UTC.fullmatch(created["created_at"])
    assert created["updated_at"] == created["created_at"]
    assert before - 1 <= seconds_of(created["created_at"]) <= time.time() + 1
    assert "v-crm-1" not in str(created)


async def test_a_second_secret_with_a_taken_name_is_refused_409_and_the_first_is_unchanged(
    service: Service,
) -> None:
    acme = await service.org()
    first = await acme.ok("POST", "/v1/secrets", 201, json={"name": "crm", "value": "one"})

    again = await acme.client.post("/v1/secrets", json={"name": "crm", "value": "two"})

    error = error_of(again, 409, "conflict")
    assert "crm" in error["message"]
    assert await acme.ok("GET", "/v1/secrets/crm") == first


async def test_the_list_shows_each_secret_by_name_and_metadata_only(service: Service) -> None:
    acme = await service.org()
    made = {}
    for name, value in (("zeta", "value-z"), ("alpha", "value-a"), ("Mid_1", "value-m")):
        made[name] = await acme.ok("POST", "/v1/secrets", 201, json={"name": name, "value": value})
    other = await service.org("Other")
    await other.ok("POST", "/v1/secrets", 201, json={"name": "theirs", "value": "value-t"})

    response = await acme.client.get("/v1/secrets")
    listed = response.json()

    assert response.status_code == 200
    assert [s["name"] for s in listed] == sorted(made)
    assert listed == [made[name] for name in sorted(made)]
    assert all(set(s) == SECRET_FIELDS for s in listed)
    assert "value-" not in response.text


async def test_get_returns_one_secrets_metadata_and_404_for_an_unknown_name(
    service: Service,
) -> None:
    acme = await service.org()
    created = await acme.ok("POST", "/v1/secrets", 201, json={"name": "crm", "value": "c-1"})

    assert await acme.ok("GET", "/v1/secrets/crm") == created
    error = error_of(await acme.client.get("/v1/secrets/nothing"), 404, "not_found")
    assert "nothing" in error["message"]


async def test_rotating_makes_version_2_and_the_previous_value_signs_for_24_hours_by_default(
    service: Service,
) -> None:
    acme = await service.org()
    created = await acme.ok("POST", "/v1/secrets", 201, json={"name": "crm", "value": "c-1"})

    rotated = await acme.ok("POST", "/v1/secrets/crm/rotate", json={"value": "c-2"})
    rotated_at = time.time()

    assert set(rotated) == SECRET_FIELDS
    assert rotated["id"] == created["id"]
    assert rotated["name"] == "crm"
    assert rotated["version"] == 2
    assert rotated["created_at"] == created["created_at"]
    assert seconds_of(rotated["updated_at"]) >= seconds_of(created["updated_at"])
    assert ISO_UTC.fullmatch(rotated["previous_signs_until"])
    until = seconds_of(rotated["previous_signs_until"])
    assert until == pytest.approx(seconds_of(rotated["updated_at"]) + DAY, abs=0.002)
    assert until == pytest.approx(rotated_at + DAY, abs=5)
    assert await acme.ok("GET", "/v1/secrets/crm") == rotated
    assert await acme.ok("GET", "/v1/secrets") == [rotated]


async def test_rotating_with_grace_seconds_keeps_the_previous_value_signing_that_long(
    service: Service,
) -> None:
    acme = await service.org()
    await acme.ok("POST", "/v1/secrets", 201, json={"name": "crm", "value": "c-1"})

    rotated = await acme.ok(
        "POST", "/v1/secrets/crm/rotate", json={"value": "c-2", "grace_seconds": 600}
    )
    again = await acme.ok(
        "POST", "/v1/secrets/crm/rotate", json={"value": "c-3", "grace_seconds": 90.5}
    )

    assert rotated["version"] == 2
    assert seconds_of(rotated["previous_signs_until"]) == pytest.approx(
        seconds_of(rotated["updated_at"]) + 600, abs=0.002
    )
    assert seconds_of(rotated["previous_signs_until"]) == pytest.approx(time.time() + 600, abs=5)
    assert again["version"] == 3
    assert seconds_of(again["previous_signs_until"]) == pytest.approx(
        seconds_of(again["updated_at"]) + 90.5, abs=0.002
    )


async def test_rotating_with_grace_0_stops_the_previous_value_at_once(service: Service) -> None:
    acme = await service.org()
    await acme.ok("POST", "/v1/secrets", 201, json={"name": "crm", "value": "c-1"})
    await acme.ok("POST", "/v1/secrets/crm/rotate", json={"value": "c-2"})

    rotated = await acme.ok(
        "POST", "/v1/secrets/crm/rotate", json={"value": "c-3", "grace_seconds": 0}
    )

    assert rotated["version"] == 3
    assert rotated["previous_signs_until"] is None
    assert (await acme.ok("GET", "/v1/secrets/crm"))["previous_signs_until"] is None


async def test_a_rotation_grace_outside_0_to_7_days_is_refused_422(service: Service) -> None:
    acme = await service.org()
    await acme.ok("POST", "/v1/secrets", 201, json={"name": "crm", "value": "c-1"})

    for grace in (-1, 7 * DAY + 1):
        response = await acme.client.post(
            "/v1/secrets/crm/rotate", json={"value": "c-2", "grace_seconds": grace}
        )
        error = error_of(response, 422, "invalid_request")
        assert [d["path"] for d in error["details"]] == ["body.grace_seconds"], grace

    assert (await acme.ok("GET", "/v1/secrets/crm"))["version"] == 1
    week = await acme.ok(
        "POST", "/v1/secrets/crm/rotate", json={"value": "c-2", "grace_seconds": 7 * DAY}
    )
    assert week["version"] == 2


async def test_rotating_an_unknown_secret_answers_404(service: Service) -> None:
    acme = await service.org()

    response = await acme.client.post("/v1/secrets/nothing/rotate", json={"value": "x"})

    error_of(response, 404, "not_found")
    assert await acme.ok("GET", "/v1/secrets") == []


async def test_a_deleted_secret_answers_204_then_404(service: Service) -> None:
    acme = await service.org()
    await acme.ok("POST", "/v1/secrets", 201, json={"name": "crm", "value": "c-1"})
    await acme.ok("POST", "/v1/secrets", 201, json={"name": "kept", "value": "k-1"})

    deleted = await acme.client.delete("/v1/secrets/crm")

    assert deleted.status_code == 204
    assert deleted.content == b""
    error_of(await acme.client.get("/v1/secrets/crm"), 404, "not_found")
    error_of(await acme.client.delete("/v1/secrets/crm"), 404, "not_found")
    assert [s["name"] for s in await acme.ok("GET", "/v1/secrets")] == ["kept"]
    recreated = await acme.ok("POST", "/v1/secrets", 201, json={"name": "crm", "value": "c-2"})
    assert recreated["version"] == 1


async def test_a_name_that_breaks_the_pattern_is_refused_422(service: Service) -> None:
    acme = await service.org()
    names = ["", "1st", "has-dash", "has space", "dotted.name", "é_accent", "a" * 65, "semi;col"]

    for name in names:
        response = await acme.client.post("/v1/secrets", json={"name": name, "value": "v"})
        error = error_of(response, 422, "invalid_request")
        assert [d["path"] for d in error["details"]] == ["body.name"], name

    assert await acme.ok("GET", "/v1/secrets") == []


async def test_a_name_in_the_path_that_breaks_the_pattern_is_refused_422(
    service: Service,
) -> None:
    acme = await service.org()

    for method in ("GET", "DELETE"):
        response = await acme.client.request(method, "/v1/secrets/has-dash")
        error = error_of(response, 422, "invalid_request")
        assert [d["path"] for d in error["details"]] == ["path.name"], method


async def test_names_at_the_edges_of_the_pattern_are_accepted(service: Service) -> None:
    acme = await service.org()

    for name in ("a", "_private", "UPPER_2", "b" * 64):
        created = await acme.ok("POST", "/v1/secrets", 201, json={"name": name, "value": "v"})
        assert created["name"] == name
        assert (await acme.ok("GET", f"/v1/secrets/{name}"))["id"] == created["id"]


async def test_a_value_over_16_kib_is_refused_422_and_one_of_16_kib_is_stored(
    service: Service,
) -> None:
    acme = await service.org()
    limit = 16 * 1024

    too_long = await acme.client.post(
        "/v1/secrets", json={"name": "big", "value": "x" * (limit + 1)}
    )
    empty = await acme.client.post("/v1/secrets", json={"name": "big", "value": ""})

    for response in (too_long, empty):
        error = error_of(response, 422, "invalid_request")
        assert [d["path"] for d in error["details"]] == ["body.value"]
        assert "x" * 100 not in response.text
    assert await acme.ok("GET", "/v1/secrets") == []
    await acme.ok("POST", "/v1/secrets", 201, json={"name": "big", "value": "x" * limit})
    rotate_too_long = await acme.client.post(
        "/v1/secrets/big/rotate", json={"value": "y" * (limit + 1)}
    )
    error = error_of(rotate_too_long, 422, "invalid_request")
    assert [d["path"] for d in error["details"]] == ["body.value"]
    assert (await acme.ok("GET", "/v1/secrets/big"))["version"] == 1


async def test_a_value_over_16_kib_of_utf8_is_refused_422_even_in_fewer_characters(
    service: Service,
) -> None:
    # docs/service.md: "values 1 to 16 KiB"; 16,384 two-byte characters are 32 KiB.
    acme = await service.org()
    wide = "é" * (16 * 1024)
    assert len(wide.encode()) == 32 * 1024

    response = await acme.client.post("/v1/secrets", json={"name": "wide", "value": wide})

    error = error_of(response, 422, "invalid_request")
    assert [d["path"] for d in error["details"]] == ["body.value"]
    assert await acme.ok("GET", "/v1/secrets") == []


async def test_a_rotated_secret_signs_with_the_new_value_first_and_the_old_during_its_grace(
    service: Service, https_server: HttpsServer
) -> None:
    acme = await service.org()
    await acme.ok("POST", "/v1/secrets", 201, json={"name": "sig", "value": "old-value"})
    workflow_id = await signing_workflow(acme, https_server.url("/users"))
    await acme.ok(
        "POST", "/v1/secrets/sig/rotate", json={"value": "new-value", "grace_seconds": 3600}
    )

    run = await run_once(service, acme, workflow_id, "inq_1")

    assert run["status"] == "completed"
    [hit] = https_server.hits_on("/users")
    header = hit.headers["Persona-Signature"]
    sets = header.split(" ")
    assert len(sets) == 2
    assert all(re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", s) for s in sets)
    assert verify(header, hit.body, ["new-value"]) == verify(header, hit.body, ["old-value"])
    assert abs(verify(header, hit.body, ["new-value"]) - time.time()) < 10
    assert verify(sets[0], hit.body, ["new-value"])
    assert rejects(sets[0], hit.body, "old-value")
    assert verify(sets[1], hit.body, ["old-value"])
    assert rejects(sets[1], hit.body, "new-value")
    assert rejects(header, hit.body, "another-value")

    await acme.ok(
        "POST", "/v1/secrets/sig/rotate", json={"value": "newest-value", "grace_seconds": 0}
    )
    run = await run_once(service, acme, workflow_id, "inq_2")

    assert run["status"] == "completed"
    _, hit = https_server.hits_on("/users")
    header = hit.headers["Persona-Signature"]
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", header)
    assert verify(header, hit.body, ["newest-value"])
    assert rejects(header, hit.body, "new-value")
    assert rejects(header, hit.body, "old-value")


async def test_a_deleted_secret_is_no_longer_resolved_by_a_published_workflow(
    service: Service, https_server: HttpsServer
) -> None:
    acme = await service.org()
    await acme.ok("POST", "/v1/secrets", 201, json={"name": "sig", "value": "old-value"})
    workflow_id = await signing_workflow(acme, https_server.url("/users"))
    await acme.ok("DELETE", "/v1/secrets/sig", 204)

    run = await run_once(service, acme, workflow_id, "inq_1")

    assert run["status"] == "failed"
    [step] = run["steps"]
    assert step["status"] == "errored"
    assert step["error"]["type"] == "unresolved_reference"
    assert "sig" in step["error"]["message"]
    assert https_server.hits_on("/users") == []


async def test_the_previous_value_stops_signing_once_its_grace_period_has_passed(
    service: Service, https_server: HttpsServer
) -> None:
    clock = manual_clock(service)
    acme = await service.org()
    await acme.ok("POST", "/v1/secrets", 201, json={"name": "sig", "value": "old-value"})
    workflow_id = await signing_workflow(acme, https_server.url("/users"))
    rotated = await acme.ok(
        "POST", "/v1/secrets/sig/rotate", json={"value": "new-value", "grace_seconds": 60}
    )
    assert seconds_of(rotated["previous_signs_until"]) == pytest.approx(clock.now() + 60, abs=0.002)

    clock.advance(60.5)

    assert (await acme.ok("GET", "/v1/secrets/sig"))["previous_signs_until"] is None
    assert (await acme.ok("GET", "/v1/secrets"))[0]["previous_signs_until"] is None
    started = await acme.ok(
        "POST", f"/v1/workflows/{workflow_id}/trigger", 202, json={"payload": {"id": "inq_1"}}
    )
    async with working(service, clock):
        run = await finished_run(acme, started["run_id"])
    assert run["status"] == "completed"
    [hit] = https_server.hits_on("/users")
    header = hit.headers["Persona-Signature"]
    assert len(header.split(" ")) == 1
    assert verify(header, hit.body, ["new-value"], now=clock.now()) == int(clock.now())
    assert rejects(header, hit.body, "old-value")


async def test_a_rotation_reaches_the_next_retry_of_a_run_already_waiting(
    service: Service, https_server: HttpsServer
) -> None:
    clock = manual_clock(service)
    https_server.script("/users", reply(503), reply(200))
    acme = await service.org()
    await acme.ok("POST", "/v1/secrets", 201, json={"name": "sig", "value": "first-value"})
    # The retry is due by the database's clock (real time), so the wait is kept short;
    # 3 s, not 1: on a loaded machine, seeing the run wait and rotating took over a second,
    # and the retry went first, signed with the first value (as it should be).
    workflow_id = await signing_workflow(acme, https_server.url("/users"), retry_intervals=[3])
    started = await acme.ok(
        "POST", f"/v1/workflows/{workflow_id}/trigger", 202, json={"payload": {"id": "inq_1"}}
    )

    async with working(service, clock):
        await run_until(acme, started["run_id"], lambda run: run["steps"][0]["status"] == "waiting")
        await acme.ok(
            "POST", "/v1/secrets/sig/rotate", json={"value": "second-value", "grace_seconds": 0}
        )
        # What the test is about: the rotation came while the run waited for its retry.
        assert len(https_server.hits_on("/users")) == 1, "the retry went before the rotation"
        clock.advance(1)
        run = await finished_run(acme, started["run_id"], timeout=10.0)

    assert run["status"] == "completed"
    first, second = https_server.hits_on("/users")
    assert first.headers["Callout-Attempt"] == "1"
    assert second.headers["Callout-Attempt"] == "2"
    now = clock.now()
    assert verify(first.headers["Persona-Signature"], first.body, ["first-value"], now=now)
    assert rejects(first.headers["Persona-Signature"], first.body, "second-value")
    assert verify(second.headers["Persona-Signature"], second.body, ["second-value"], now=now)
    assert rejects(second.headers["Persona-Signature"], second.body, "first-value")


async def test_each_organizations_runs_sign_with_its_own_secret_of_the_same_name(
    service: Service, https_server: HttpsServer
) -> None:
    acme = await service.org("Acme")
    globex = await service.org("Globex")
    await acme.ok("POST", "/v1/secrets", 201, json={"name": "sig", "value": "acme-value"})
    await globex.ok("POST", "/v1/secrets", 201, json={"name": "sig", "value": "globex-value"})
    acme_workflow = await signing_workflow(acme, https_server.url("/acme"))
    globex_workflow = await signing_workflow(globex, https_server.url("/globex"))

    acme_run = await run_once(service, acme, acme_workflow, "inq_a")
    globex_run = await run_once(service, globex, globex_workflow, "inq_g")

    assert acme_run["status"] == globex_run["status"] == "completed"
    [acme_hit] = https_server.hits_on("/acme")
    [globex_hit] = https_server.hits_on("/globex")
    assert verify(acme_hit.headers["Persona-Signature"], acme_hit.body, "acme-value")
    assert rejects(acme_hit.headers["Persona-Signature"], acme_hit.body, "globex-value")
    assert verify(globex_hit.headers["Persona-Signature"], globex_hit.body, "globex-value")
    assert rejects(globex_hit.headers["Persona-Signature"], globex_hit.body, "acme-value")
