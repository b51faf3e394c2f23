"""Hosts and their limits as the API and the CLI show them (one shape for both).

A host is listed when delivery control has a state for it (a breaker, slots,
waiting step runs) or when it has a limit row of its own. Each host shows the
limit that applies to it: its own row, else the `*` row (`"host": "*"` says
so), else none (the defaults: no limit, the breaker at its default threshold).
The `*` row is a limit, not a host: `GET /v1/host-limits` lists it.
"""

from __future__ import annotations

from typing import Any

from callout.model.timestamps import iso_utc
from callout.store.delivery import ANY_HOST, BreakerState, DeliveryRecords, HostLimit, HostState
from callout.store.protocol import NotFoundError


def _time(value: float | None) -> str | None:
    return iso_utc(value) if value is not None else None


def host_limit_view(limit: HostLimit) -> dict[str, Any]:
    """Describe a limit row: what it sets (null: the default) and the breaker it gives."""
    return {
        "host": limit.host,
        "max_in_flight": limit.max_in_flight,
        "rate_per_second": limit.rate_per_second,
        "burst": limit.burst,
        "breaker_failures": limit.breaker_failures,
        "breaker_pause_seconds": limit.breaker_pause,
        "updated_at": _time(limit.updated_at),
        "effective_breaker_failures": limit.failures_to_open,
        "effective_breaker_pause_seconds": limit.first_pause,
    }


def host_view(state: HostState, limit: HostLimit | None) -> dict[str, Any]:
    """Describe a host: its breaker, what is in flight and waiting, and its limit."""
    return {
        "host": state.host,
        "breaker": state.breaker.value,
        "consecutive_failures": state.consecutive_failures,
        "opened_at": _time(state.opened_at),
        "next_probe_at": _time(state.next_probe_at),
        "last_error": state.last_error,
        "in_flight": state.in_flight,
        "waiting": state.waiting,
        "limit": host_limit_view(limit) if limit is not None else None,
    }


def limit_for(host: str, limits: list[HostLimit]) -> HostLimit | None:
    """Return the limit that applies to `host`: its own row, else the `*` row, else None."""
    by_host = {limit.host: limit for limit in limits}
    return by_host.get(host) or by_host.get(ANY_HOST)


def hosts_view(states: list[HostState], limits: list[HostLimit]) -> list[dict[str, Any]]:
    """Describe every host with a state or a limit row of its own, by host name."""
    known = {state.host: state for state in states}
    for limit in limits:
        if limit.host != ANY_HOST and limit.host not in known:
            known[limit.host] = HostState(
                org_id=limit.org_id, host=limit.host, breaker=BreakerState.CLOSED
            )
    return [host_view(known[host], limit_for(host, limits)) for host in sorted(known)]


async def listed_hosts(delivery: DeliveryRecords, *, org_id: str) -> list[dict[str, Any]]:
    """Read and describe an organization's hosts (`hosts_view`)."""
    states = await delivery.host_states(org_id=org_id)
    limits = await delivery.host_limits(org_id=org_id)
    return hosts_view(states, limits)


async def resumed_host(delivery: DeliveryRecords, *, org_id: str, host: str) -> dict[str, Any]:
    """Close a host's breaker now (its waiting step runs become due); describe the host.

    A host callout knows only by its limit row is not paused: it is described as it
    is. NotFoundError for a host callout knows nothing of (and for `*`).
    """
    limits = await delivery.host_limits(org_id=org_id)
    try:
        state = await delivery.resume_host(org_id=org_id, host=host)
    except NotFoundError:
        if host == ANY_HOST or host not in {limit.host for limit in limits}:
            raise
        state = HostState(org_id=org_id, host=host)
    return host_view(state, limit_for(host, limits))
