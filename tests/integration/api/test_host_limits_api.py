"""`/v1/host-limits`: an organization's per-host limits, set whole, listed, removed.

What the database keeps runs on SQLite and PostgreSQL; what is refused before the
store is asked runs on SQLite alone.
"""

from __future__ import annotations

from support.api_clients import Service, error_of


async def test_a_limit_is_set_listed_and_replaced_whole(service: Service) -> None:
    acme = await service.org()
    other = await service.org("Other")

    made = await acme.ok(
        "PUT",
        "/v1/host-limits/API.Example.com",
        json={"max_in_flight": 5, "rate_per_second": 10, "burst": 20},
    )

    assert made["host"] == "api.example.com"
    assert (made["max_in_flight"], made["rate_per_second"], made["burst"]) == (5, 10.0, 20)
    assert (made["breaker_failures"], made["breaker_pause_seconds"]) == (None, None)
    assert (made["effective_breaker_failures"], made["effective_breaker_pause_seconds"]) == (5, 30)
    assert made["updated_at"].endswith("Z")
    assert await acme.ok("GET", "/v1/host-limits") == {"host_limits": [made]}
    assert await other.ok("GET", "/v1/host-limits") == {"host_limits": []}

    replaced = await acme.ok(
        "PUT",
        "/v1/host-limits/api.example.com",
        json={"breaker_failures": 0, "breaker_pause_seconds": 120},
    )

    assert replaced["max_in_flight"] is None
    assert replaced["rate_per_second"] is None
    assert (replaced["effective_breaker_failures"], replaced["breaker_pause_seconds"]) == (0, 120)
    [listed] = (await acme.ok("GET", "/v1/host-limits"))["host_limits"]
    assert listed == replaced


async def test_the_star_row_is_a_limit_of_its_own_beside_hosts(sqlite_service: Service) -> None:
    acme = await sqlite_service.org()

    await acme.ok("PUT", "/v1/host-limits/*", json={"max_in_flight": 2})
    await acme.ok("PUT", "/v1/host-limits/[::1]", json={"rate_per_second": 0.5})

    listed = (await acme.ok("GET", "/v1/host-limits"))["host_limits"]
    assert {row["host"]: row["max_in_flight"] for row in listed} == {"*": 2, "::1": None}


async def test_every_problem_of_a_limit_is_listed_at_its_path(sqlite_service: Service) -> None:
    acme = await sqlite_service.org()

    response = await acme.client.put(
        "/v1/host-limits/api.example.com:8443",
        json={
            "max_in_flight": 0,
            "rate_per_second": 0,
            "burst": 10_001,
            "breaker_failures": 1_001,
            "breaker_pause_seconds": 0.5,
        },
    )

    error = error_of(response, 422, "invalid_request")
    details = {d["path"]: d["message"] for d in error["details"]}
    assert set(details) == {
        "path.host",
        "body.max_in_flight",
        "body.rate_per_second",
        "body.burst",
        "body.breaker_failures",
        "body.breaker_pause_seconds",
    }
    assert "must not carry a port" in details["path.host"]
    assert details["body.max_in_flight"] == "must be 1 to 10000, got 0"
    assert await acme.ok("GET", "/v1/host-limits") == {"host_limits": []}


async def test_a_host_written_with_more_than_its_name_is_refused(sqlite_service: Service) -> None:
    acme = await sqlite_service.org()

    for written, words in (
        ("ops@api.example.com", "without user information"),
        ("*.example.com", "only * alone"),
        ("api..example.com", "is not a host name"),
    ):
        response = await acme.client.put(f"/v1/host-limits/{written}", json={})
        [detail] = error_of(response, 422, "invalid_request")["details"]
        assert detail["path"] == "path.host"
        assert words in detail["message"]


async def test_a_burst_without_a_rate_and_an_unknown_field_are_refused(
    sqlite_service: Service,
) -> None:
    acme = await sqlite_service.org()

    burst_alone = await acme.client.put("/v1/host-limits/api.example.com", json={"burst": 5})
    [detail] = error_of(burst_alone, 422, "invalid_request")["details"]
    assert detail["path"] == "body.burst"
    assert "needs a rate" in detail["message"]

    unknown = await acme.client.put("/v1/host-limits/api.example.com", json={"max": 5})
    [detail] = error_of(unknown, 422, "invalid_request")["details"]
    assert detail == {"path": "body.max", "message": "is not a known field"}


async def test_a_removed_limit_is_gone_and_removing_it_again_is_404(service: Service) -> None:
    acme = await service.org()
    other = await service.org("Other")
    await acme.ok("PUT", "/v1/host-limits/api.example.com", json={"max_in_flight": 1})

    error_of(await other.client.delete("/v1/host-limits/api.example.com"), 404, "not_found")
    await acme.ok("DELETE", "/v1/host-limits/API.example.com", 204)

    assert await acme.ok("GET", "/v1/host-limits") == {"host_limits": []}
    error_of(await acme.client.delete("/v1/host-limits/api.example.com"), 404, "not_found")


async def test_limits_need_an_api_key(sqlite_service: Service) -> None:
    response = await sqlite_service.client().get("/v1/host-limits")

    error_of(response, 401, "unauthorized")
