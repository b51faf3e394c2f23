"""`GET/PATCH /v1/organization`: how long the organization keeps runs and their bodies."""

from __future__ import annotations

from support.api_clients import Service


async def test_an_organization_keeps_runs_30_days_and_bodies_as_long_by_default(
    service: Service,
) -> None:
    acme = await service.org()

    organization = await acme.ok("GET", "/v1/organization")

    assert organization["retention_days"] == 30
    assert organization["body_retention_days"] is None


async def test_retention_is_changed_field_by_field_and_kept(service: Service) -> None:
    acme = await service.org()
    other = await service.org("Other")

    changed = await acme.ok(
        "PATCH", "/v1/organization", json={"retention_days": 90, "body_retention_days": 7}
    )
    assert (changed["retention_days"], changed["body_retention_days"]) == (90, 7)
    assert changed["id"] == acme.id

    only_days = await acme.ok("PATCH", "/v1/organization", json={"retention_days": 14})
    assert (only_days["retention_days"], only_days["body_retention_days"]) == (14, 7)
    read = await acme.ok("GET", "/v1/organization")
    assert (read["retention_days"], read["body_retention_days"]) == (14, 7)
    untouched = await other.ok("GET", "/v1/organization")
    assert (untouched["retention_days"], untouched["body_retention_days"]) == (30, None)

    back = await acme.ok(
        "PATCH", "/v1/organization", json={"retention_days": None, "body_retention_days": None}
    )
    assert (back["retention_days"], back["body_retention_days"]) == (30, None)


async def test_a_bad_retention_is_refused_with_every_problem_at_its_path(
    service: Service,
) -> None:
    acme = await service.org()

    out_of_range = await acme.client.patch(
        "/v1/organization",
        json={"retention_days": 0, "body_retention_days": -1, "plan": "enterprise"},
    )
    assert out_of_range.status_code == 422
    details = {d["path"]: d["message"] for d in out_of_range.json()["error"]["details"]}
    assert set(details) == {"body.retention_days", "body.body_retention_days", "body.plan"}
    assert details["body.plan"] == "is not a known field"

    longer = await acme.client.patch(
        "/v1/organization", json={"retention_days": 10, "body_retention_days": 20}
    )
    assert longer.status_code == 422
    [detail] = longer.json()["error"]["details"]
    assert detail["path"] == "body.body_retention_days"
    assert "longer than the runs are kept (10 days)" in detail["message"]
    organization = await acme.ok("GET", "/v1/organization")
    assert (organization["retention_days"], organization["body_retention_days"]) == (30, None)
