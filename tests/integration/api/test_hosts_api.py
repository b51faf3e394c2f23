"""`/v1/hosts`: the hosts delivery control knows, and resuming one its breaker paused.

The paused host is made the way it happens (`support/paused_hosts.py`): a worker
with delivery control sends to a loopback server that answers 503.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from support.api_clients import Org, Service, error_of, finished_run
from support.https_servers import HttpsServer
from support.paused_hosts import HOST, PAUSE, Ticks, delivering, pause_host, trigger
from support.polling import eventually


def seconds_of(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


async def host_named(org: Org, host: str) -> dict[str, Any]:
    hosts: list[dict[str, Any]] = (await org.ok("GET", "/v1/hosts"))["hosts"]
    [found] = [h for h in hosts if h["host"] == host]
    return found


async def test_a_paused_host_is_listed_and_resuming_it_sends_its_waiting_run_at_once(
    service: Service, https_server: HttpsServer
) -> None:
    acme = await service.org()
    other = await service.org("Other")
    ticks = Ticks()

    async with delivering(service, ticks):
        workflow_id = await pause_host(acme, https_server, ticks)
        paused = await host_named(acme, HOST)
        assert (paused["breaker"], paused["consecutive_failures"]) == ("open", 1)
        assert paused["last_error"] == "http_status 503"
        opened = seconds_of(paused["opened_at"])
        assert abs(opened - time.time()) < 60
        assert seconds_of(paused["next_probe_at"]) - opened == PAUSE
        assert paused["limit"]["breaker_failures"] == 1
        assert (await other.ok("GET", "/v1/hosts")) == {"hosts": []}

        # A run to the paused host waits for it, unsent.
        waiting_run = await trigger(acme, workflow_id)

        async def held_back() -> bool:
            waiting: int = (await host_named(acme, HOST))["waiting"]
            return waiting == 1

        await eventually(held_back, "the run to wait for the paused host", every=0.02)
        assert len(https_server.hits_on("/users")) == 1
        assert (await acme.ok("GET", f"/v1/runs/{waiting_run}"))["status"] != "completed"

        resumed = await acme.ok("POST", f"/v1/hosts/{HOST}/resume")

        assert (resumed["host"], resumed["breaker"]) == (HOST, "closed")
        assert (resumed["consecutive_failures"], resumed["next_probe_at"]) == (0, None)
        completed = await finished_run(acme, waiting_run)
    assert completed["status"] == "completed"
    assert len(https_server.hits_on("/users")) == 2
    after = await host_named(acme, HOST)
    assert (after["breaker"], after["waiting"]) == ("closed", 0)
    error_of(await other.client.post(f"/v1/hosts/{HOST}/resume"), 404, "not_found")


async def test_hosts_with_only_a_limit_are_listed_with_the_limit_that_applies(
    sqlite_service: Service,
) -> None:
    acme = await sqlite_service.org()
    await acme.ok("PUT", "/v1/host-limits/*", json={"max_in_flight": 3})
    own = await acme.ok("PUT", "/v1/host-limits/api.example.com", json={"rate_per_second": 2})

    listed = await acme.ok("GET", "/v1/hosts")

    assert listed == {
        "hosts": [
            {
                "host": "api.example.com",
                "breaker": "closed",
                "consecutive_failures": 0,
                "opened_at": None,
                "next_probe_at": None,
                "last_error": None,
                "in_flight": 0,
                "waiting": 0,
                "limit": own,
            }
        ]
    }
    # Resuming a host that is only limited answers it as it is; any other host is 404.
    assert await acme.ok("POST", "/v1/hosts/API.example.com/resume") == listed["hosts"][0]
    error_of(await acme.client.post("/v1/hosts/other.example.com/resume"), 404, "not_found")
    error_of(await acme.client.post("/v1/hosts/*/resume"), 404, "not_found")
    bad = await acme.client.post("/v1/hosts/api.example.com:443/resume")
    [detail] = error_of(bad, 422, "invalid_request")["details"]
    assert detail["path"] == "path.host"
