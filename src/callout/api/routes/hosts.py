"""Per-host limits and the hosts delivery control knows: breakers, slots, waiting step runs.

An organization limits, per host, the requests in flight and their rate, and
tunes the circuit breaker that pauses a failing host (docs/delivery-control.md).
A host's own row replaces the `*` row for it. Every worker on the database
reads a changed limit within a second.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from callout.api.auth import CallerDep
from callout.api.context import context_of
from callout.api.errors import ERROR_RESPONSES, ApiError
from callout.engine.host_views import host_limit_view, listed_hosts, resumed_host
from callout.store.delivery import (
    DEFAULT_BREAKER_FAILURES,
    DEFAULT_BREAKER_PAUSE,
    BreakerState,
    HostLimit,
)
from callout.store.host_limit_rules import (
    MAX_BREAKER_FAILURES,
    MAX_BREAKER_PAUSE_SETTING,
    MAX_BURST,
    MAX_IN_FLIGHT,
    MAX_RATE,
    MIN_BREAKER_PAUSE,
    host_limit_problems,
)

router = APIRouter(prefix="/v1", tags=["Hosts"], responses=ERROR_RESPONSES)

HostPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=300,
        description="A host name (`api.example.com`), an IP address, or `*` (every host "
        "without a limit of its own); no scheme, no port",
        examples=["api.example.com"],
    ),
]

API_NAMES = {
    "host": "path.host",
    "max_in_flight": "body.max_in_flight",
    "rate_per_second": "body.rate_per_second",
    "burst": "body.burst",
    "breaker_failures": "body.breaker_failures",
    "breaker_pause_seconds": "body.breaker_pause_seconds",
}
"""Where each field of a limit is in a request, for the paths of its problems."""


def _bounds(low: float, high: float, *, exclusive_low: bool = False) -> JsonDict:
    # Described here, checked by `host_limit_problems` (every problem at once, host included).
    return {"exclusiveMinimum" if exclusive_low else "minimum": low, "maximum": high}


class HostLimitIn(BaseModel):
    """A host's limits; a field left out (or null) is the default: no limit, the default breaker."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"max_in_flight": 5, "rate_per_second": 10, "burst": 20},
                {"breaker_failures": 10, "breaker_pause_seconds": 60},
            ]
        },
    )
    max_in_flight: int | None = Field(
        default=None,
        description=f"Requests in flight to the host at once, 1 to {MAX_IN_FLIGHT}",
        json_schema_extra=_bounds(1, MAX_IN_FLIGHT),
    )
    rate_per_second: float | None = Field(
        default=None,
        description=f"Requests started per second, more than 0 and at most {MAX_RATE:g}",
        json_schema_extra=_bounds(0, MAX_RATE, exclusive_low=True),
    )
    burst: int | None = Field(
        default=None,
        description=f"Requests the rate lets go at once after an idle spell, 1 to {MAX_BURST} "
        "(default 1); only with a rate",
        json_schema_extra=_bounds(1, MAX_BURST),
    )
    breaker_failures: int | None = Field(
        default=None,
        description="Consecutive failed attempts (5xx, timeouts, connection errors) that "
        f"pause the host, 0 to {MAX_BREAKER_FAILURES}; 0 turns the breaker off "
        f"(default {DEFAULT_BREAKER_FAILURES})",
        json_schema_extra=_bounds(0, MAX_BREAKER_FAILURES),
    )
    breaker_pause_seconds: float | None = Field(
        default=None,
        description="Seconds a paused host waits before its first probe, "
        f"{MIN_BREAKER_PAUSE:g} to {MAX_BREAKER_PAUSE_SETTING:g} (default "
        f"{DEFAULT_BREAKER_PAUSE:g}); doubled after each failed probe",
        json_schema_extra=_bounds(MIN_BREAKER_PAUSE, MAX_BREAKER_PAUSE_SETTING),
    )


class HostLimitOut(BaseModel):
    """A host's limit row (null: the default), and the breaker it gives the host."""

    model_config = ConfigDict(extra="forbid")
    host: str
    max_in_flight: int | None
    rate_per_second: float | None
    burst: int | None
    breaker_failures: int | None
    breaker_pause_seconds: float | None
    updated_at: str | None
    effective_breaker_failures: int = Field(
        description="The failures that pause the host (0: the breaker is off)"
    )
    effective_breaker_pause_seconds: float = Field(
        description="Seconds a paused host waits before its first probe"
    )


class HostLimitList(BaseModel):
    """An organization's limit rows, by host."""

    model_config = ConfigDict(extra="forbid")
    host_limits: list[HostLimitOut]


class HostOut(BaseModel):
    """A host: its circuit breaker, what is in flight and waiting, the limit that applies."""

    model_config = ConfigDict(extra="forbid")
    host: str
    breaker: BreakerState = Field(
        description="`closed`: sending; `open`: paused until `next_probe_at`; `half_open`: "
        "one probe is in flight, the rest wait for its answer"
    )
    consecutive_failures: int
    opened_at: str | None
    next_probe_at: str | None
    last_error: str | None = Field(description='The last failure, e.g. "http_status 503"')
    in_flight: int = Field(description="Requests in flight (counted where a limit holds them)")
    waiting: int = Field(description="Step runs held back for this host")
    limit: HostLimitOut | None = Field(
        description="The host's own limit row, else the `*` row (its `host` is `*`), "
        "else null (no limit, the default breaker)"
    )


class HostList(BaseModel):
    """Every host with a state or a limit of its own, by host."""

    model_config = ConfigDict(extra="forbid")
    hosts: list[HostOut]


def _checked(limit: HostLimit) -> HostLimit:
    checked, problems = host_limit_problems(limit, names=API_NAMES)
    if problems:
        raise ApiError(
            422, "invalid_request", f"the request has {len(problems)} problem(s)", problems
        )
    return checked


def _host(org_id: str, host: str) -> str:
    return _checked(HostLimit(org_id=org_id, host=host)).host


@router.get("/host-limits", summary="List per-host limits")
async def list_limits(caller: CallerDep, request: Request) -> HostLimitList:
    """Return the organization's limit rows, `*` among them when set."""
    limits = await context_of(request).store.delivery.host_limits(org_id=caller.org.id)
    return HostLimitList(host_limits=[HostLimitOut(**host_limit_view(row)) for row in limits])


@router.put("/host-limits/{host}", summary="Set a host's limits")
async def put_limit(
    host: HostPath, body: HostLimitIn, caller: CallerDep, request: Request
) -> HostLimitOut:
    """Create or replace the host's limit row (`*`: every host without a row of its own).

    The body is the whole row: a field left out goes back to its default. Every
    problem is listed at once, the host's among them.
    """
    limit = _checked(
        HostLimit(
            org_id=caller.org.id,
            host=host,
            max_in_flight=body.max_in_flight,
            rate_per_second=body.rate_per_second,
            burst=body.burst,
            breaker_failures=body.breaker_failures,
            breaker_pause=body.breaker_pause_seconds,
        )
    )
    saved = await context_of(request).store.delivery.set_host_limit(limit)
    return HostLimitOut(**host_limit_view(saved))


@router.delete("/host-limits/{host}", status_code=204, summary="Remove a host's limits")
async def delete_limit(host: HostPath, caller: CallerDep, request: Request) -> Response:
    """Remove the host's limit row: the `*` row (or no limit) applies to it again."""
    await context_of(request).store.delivery.delete_host_limit(
        org_id=caller.org.id, host=_host(caller.org.id, host)
    )
    return Response(status_code=204)


@router.get("/hosts", summary="List hosts: breakers, requests in flight, waiting step runs")
async def list_hosts(caller: CallerDep, request: Request) -> HostList:
    """Return every host with a breaker state, slots, waiting step runs or a limit row."""
    views = await listed_hosts(context_of(request).store.delivery, org_id=caller.org.id)
    return HostList(hosts=[HostOut(**view) for view in views])


@router.post("/hosts/{host}/resume", summary="Resume a paused host now")
async def resume_host(host: HostPath, caller: CallerDep, request: Request) -> HostOut:
    """Close the host's breaker now: the step runs waiting for it are due at once.

    404 when callout knows nothing of the host (a host with only a limit row is not
    paused: it answers as it is).
    """
    view = await resumed_host(
        context_of(request).store.delivery, org_id=caller.org.id, host=_host(caller.org.id, host)
    )
    return HostOut(**view)
