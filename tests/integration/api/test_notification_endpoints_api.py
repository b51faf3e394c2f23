"""`/v1/notification-endpoints`: where run events go, each signed with a secret shown once.

What the database keeps runs on SQLite and PostgreSQL; what is refused before the
store is asked runs on SQLite alone.
"""

from __future__ import annotations

import re
from typing import Any

from callout.model.clock import SystemClock
from support.api_clients import TEST_KEY, Org, Service, error_of

OPS = {
    "name": "Ops alerts",
    "url": "https://hooks.example.com/callout",
    "events": ["run.failed", "host.paused"],
}
SECRET_NAME = re.compile(r"run_events_[0-9a-f]{10}")


async def _secret_value(service: Service, org: Org, name: str) -> str | None:
    values = await service.store.accounts.secret_values(
        TEST_KEY, org_id=org.id, now=SystemClock().now()
    )
    return values.current.get(name)


async def test_an_endpoint_is_made_with_a_signing_secret_shown_once(service: Service) -> None:
    acme = await service.org()

    made: dict[str, Any] = await acme.ok("POST", "/v1/notification-endpoints", 201, json=OPS)

    secret = made.pop("signing_secret")
    assert len(secret) >= 43
    assert made["id"].startswith("ntf_")
    assert (made["name"], made["url"], made["events"]) == (OPS["name"], OPS["url"], OPS["events"])
    assert (made["format"], made["enabled"]) == ("callout", True)
    assert SECRET_NAME.fullmatch(made["secret_name"])
    assert made["workflow_id"].startswith("wfl_")
    # The secret is an organization secret (encrypted like any), never shown again.
    assert await _secret_value(service, acme, made["secret_name"]) == secret
    await acme.ok("GET", f"/v1/secrets/{made['secret_name']}")
    listed = await acme.ok("GET", "/v1/notification-endpoints")
    assert listed == {"endpoints": [made]}
    assert await acme.ok("GET", f"/v1/notification-endpoints/{made['id']}") == made

    slack = await acme.ok(
        "POST",
        "/v1/notification-endpoints",
        201,
        json={**OPS, "name": "Slack", "format": "slack", "events": ["run.completed"]},
    )
    assert slack["format"] == "slack"
    assert slack["workflow_id"] == made["workflow_id"]
    assert slack["secret_name"] != made["secret_name"]


async def test_every_problem_of_an_endpoint_is_listed_at_its_path(sqlite_service: Service) -> None:
    acme = await sqlite_service.org()

    response = await acme.client.post(
        "/v1/notification-endpoints",
        json={
            "name": " ",
            "url": "http://hooks.example.com/callout",
            "events": ["run.failed", "run.exploded", "run.failed"],
            "format": "teams",
        },
    )

    details = {
        d["path"]: d["message"] for d in error_of(response, 422, "invalid_request")["details"]
    }
    assert set(details) == {
        "body.name",
        "body.url",
        "body.events[1]",
        "body.events[2]",
        "body.format",
    }
    assert details["body.url"] == "must start with https://"
    assert details["body.events[1]"].startswith("is not an event; one of run.failed")
    assert "second time" in details["body.events[2]"]
    assert await acme.ok("GET", "/v1/notification-endpoints") == {"endpoints": []}
    assert await acme.ok("GET", "/v1/secrets") == []


async def test_an_endpoint_url_follows_a_steps_url_rules(sqlite_service: Service) -> None:
    acme = await sqlite_service.org()

    for url, words in (
        ("https://user:pw@hooks.example.com/", "must not carry credentials"),
        ("https://hooks.example.com/{{ secrets.token }}", "literal URL"),
        ("https:///callout", "has no host name"),
    ):
        response = await acme.client.post("/v1/notification-endpoints", json={**OPS, "url": url})
        [detail] = error_of(response, 422, "invalid_request")["details"]
        assert detail["path"] == "body.url"
        assert words in detail["message"]
    no_events = await acme.client.post("/v1/notification-endpoints", json={**OPS, "events": []})
    [detail] = error_of(no_events, 422, "invalid_request")["details"]
    assert detail["path"] == "body.events"

    sqlite_service.context.allow_http = True
    plain = await acme.ok(
        "POST", "/v1/notification-endpoints", 201, json={**OPS, "url": "http://127.0.0.1:9/x"}
    )
    assert plain["url"] == "http://127.0.0.1:9/x"


async def test_a_taken_name_is_409_and_leaves_no_secret_behind(service: Service) -> None:
    acme = await service.org()
    other = await service.org("Other")
    await acme.ok("POST", "/v1/notification-endpoints", 201, json=OPS)
    await other.ok("POST", "/v1/notification-endpoints", 201, json=OPS)

    again = await acme.client.post("/v1/notification-endpoints", json=OPS)

    error_of(again, 409, "conflict")
    assert len(await acme.ok("GET", "/v1/secrets")) == 1


async def test_an_endpoint_is_changed_field_by_field(service: Service) -> None:
    acme = await service.org()
    made = await acme.ok("POST", "/v1/notification-endpoints", 201, json=OPS)
    taken = await acme.ok("POST", "/v1/notification-endpoints", 201, json={**OPS, "name": "B"})
    path = f"/v1/notification-endpoints/{made['id']}"

    changed = await acme.ok(
        "PATCH", path, json={"enabled": False, "events": ["step.errored"], "format": "slack"}
    )

    assert (changed["enabled"], changed["events"], changed["format"]) == (
        False,
        ["step.errored"],
        "slack",
    )
    assert (changed["name"], changed["url"], changed["secret_name"]) == (
        made["name"],
        made["url"],
        made["secret_name"],
    )
    assert await acme.ok("PATCH", path, json={}) == changed
    renamed = await acme.ok("PATCH", path, json={"name": "Pager", "enabled": True})
    assert (renamed["name"], renamed["enabled"]) == ("Pager", True)

    bad = await acme.client.patch(path, json={"url": "ftp://x", "events": ["nope"]})
    details = {d["path"] for d in error_of(bad, 422, "invalid_request")["details"]}
    assert details == {"body.url", "body.events[0]"}
    error_of(await acme.client.patch(path, json={"name": taken["name"]}), 409, "conflict")
    assert (await acme.ok("GET", path))["name"] == "Pager"


async def test_another_organizations_endpoint_and_an_unknown_one_are_404(
    service: Service,
) -> None:
    acme = await service.org()
    other = await service.org("Other")
    made = await acme.ok("POST", "/v1/notification-endpoints", 201, json=OPS)
    path = f"/v1/notification-endpoints/{made['id']}"

    error_of(await other.client.get(path), 404, "not_found")
    error_of(await other.client.patch(path, json={"enabled": False}), 404, "not_found")
    error_of(await other.client.delete(path), 404, "not_found")
    unknown = "/v1/notification-endpoints/ntf_0000000000AAAAAAAAAAAAAAAA"
    error_of(await acme.client.patch(unknown, json={"enabled": False}), 404, "not_found")
    assert (await acme.ok("GET", path))["enabled"] is True


async def test_a_removed_endpoint_takes_its_secret_with_it(service: Service) -> None:
    acme = await service.org()
    made = await acme.ok("POST", "/v1/notification-endpoints", 201, json=OPS)
    kept = await acme.ok("POST", "/v1/secrets", 201, json={"name": "crm", "value": "v"})
    path = f"/v1/notification-endpoints/{made['id']}"

    await acme.ok("DELETE", path, 204)

    assert await acme.ok("GET", "/v1/notification-endpoints") == {"endpoints": []}
    assert [s["name"] for s in await acme.ok("GET", "/v1/secrets")] == [kept["name"]]
    assert await _secret_value(service, acme, made["secret_name"]) is None
    error_of(await acme.client.delete(path), 404, "not_found")
    error_of(await acme.client.get(path), 404, "not_found")


async def test_an_endpoints_signing_secret_cannot_be_deleted_on_its_own(
    sqlite_service: Service,
) -> None:
    acme = await sqlite_service.org()
    made = await acme.ok("POST", "/v1/notification-endpoints", 201, json=OPS)

    refused = error_of(
        await acme.client.delete(f"/v1/secrets/{made['secret_name']}"), 409, "conflict"
    )

    assert made["id"] in refused["message"]
    assert await _secret_value(sqlite_service, acme, made["secret_name"]) is not None
