"""What the delivery-control contract tests start from: tickets, claimed attempts, their ends."""

from __future__ import annotations

from callout.model.clock import Clock
from callout.model.ids import new_id
from callout.model.records import Decision
from callout.store import Claim, FinishedAttempt
from callout.store.delivery import AdmitTicket, HostLimit, HostOutcome
from callout.store.service import ServiceStore
from integration.service_store.seeds import service_run

HOST = "api.example.com"


def ticket(
    org_id: str,
    *,
    limit: HostLimit | None = None,
    attempt_id: str | None = None,
    step_run_id: str = "stp_none",
    hold_for: float = 40.0,
    spares: int = 0,
    returned: tuple[str, ...] = (),
) -> AdmitTicket:
    """An attempt to `HOST` asking to go now (a fresh attempt id unless given)."""
    return AdmitTicket(
        org_id=org_id,
        host=HOST,
        attempt_id=attempt_id or new_id("att"),
        step_run_id=step_run_id,
        hold_for=hold_for,
        limit=limit,
        spares=spares,
        returned=returned,
    )


def in_flight(org_id: str, most: int) -> HostLimit:
    """A limit of `most` requests in flight to `HOST`."""
    return HostLimit(org_id=org_id, host=HOST, max_in_flight=most)


async def claimed(store: ServiceStore, clock: Clock, org_id: str) -> Claim:
    """Start a one-step run of the organization now and claim its step run."""
    run = service_run(now=clock.now(), org_id=org_id)
    await store.create_run(run)
    [claim] = await store.claim_due(lease_seconds=30, limit=1, run_id=run.id)
    return claim


def ended(
    claim: Claim,
    host: HostOutcome | None,
    *,
    failed: bool,
    events: frozenset[str] = frozenset(),
) -> FinishedAttempt:
    """The end of `claim`'s attempt: a 503 that fails the run, or a success."""
    return FinishedAttempt(
        attempt_id=claim.attempt_id,
        succeeded=not failed,
        decision=Decision.ERRORED_FAIL if failed else Decision.SUCCEEDED,
        http_status=503 if failed else 200,
        error={"type": "http_status", "message": "503"} if failed else None,
        output=None if failed else {"status": 200},
        host=host,
        events=events,
    )


def outcome(
    org_id: str,
    *,
    failed: bool,
    slot: bool = False,
    probe: bool = False,
    failures_to_open: int = 3,
    first_pause: float = 30.0,
    announce: bool = False,
) -> HostOutcome:
    """What an attempt to `HOST` tells delivery control (a 503 when `failed`); opens at 3."""
    return HostOutcome(
        org_id=org_id,
        host=HOST,
        failed=failed,
        error="http_status 503" if failed else None,
        slot=slot,
        probe=probe,
        failures_to_open=failures_to_open,
        first_pause=first_pause,
        announce=announce,
    )


async def sent(
    store: ServiceStore,
    clock: Clock,
    org_id: str,
    *,
    failed: bool,
    slot: bool = False,
    probe: bool = False,
) -> Claim:
    """Claim an attempt of a new run and record its end to `HOST` (breaker opens at 3)."""
    claim = await claimed(store, clock, org_id)
    host = outcome(org_id, failed=failed, slot=slot, probe=probe)
    await store.finish_attempt(claim, ended(claim, host, failed=failed))
    return claim
