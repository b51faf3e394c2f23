"""Execute one claimed step run: one attempt, recorded before and after, under the lease."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from callout.engine.decision import decide
from callout.engine.delivery_gate import DeliveryControl, HostGate
from callout.engine.event_wants import EventWants
from callout.engine.log_fields import claim_fields
from callout.engine.metrics import NO_METRICS, EngineMetrics, RecordedAttempt, run_end
from callout.engine.retry import DEFAULT_RETRY_AFTER_CAP
from callout.engine.run_inputs import RunInputCache, estimated_size
from callout.engine.token_source import AccessTokens
from callout.engine.workflow_cache import WorkflowCache
from callout.http import Transport
from callout.model.clock import Clock, SystemClock
from callout.model.delivery import Deferral
from callout.model.errors import DocumentError
from callout.model.records import Decision, StepError
from callout.steps.attempt import AttemptContext, AttemptResult
from callout.steps.registry import StepPolicy
from callout.store.account_records import OrgSecrets
from callout.store.encryption import SecretKeyError
from callout.store.outage import StoreOutage
from callout.store.protocol import (
    Claim,
    FinishedAttempt,
    LeaseLostError,
    RunInput,
    Store,
)
from callout.store.run_events import EventType
from callout.templates import Scope

log = logging.getLogger("callout.engine")

MAX_INTERRUPTIONS = 3
"""A step run whose attempts were interrupted this many times (its worker died each
time) errors instead of being sent again, so a request that kills workers cannot loop."""

LOGGED_MESSAGE_CHARS = 200
"""An errored step's log line keeps at most this much of its (redacted) message."""


def _nothing() -> None:
    """Tell nobody that an attempt was answered (`StepExecutor.execute`)."""


@dataclass(slots=True)
class StepExecutor:
    """Runs the attempt a claim is for, and records it through the store."""

    store: Store
    transport: Transport
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    clock: Clock = field(default_factory=SystemClock)
    retry_after_cap: float = DEFAULT_RETRY_AFTER_CAP
    allow_http: bool = False
    workflows: WorkflowCache = field(default_factory=WorkflowCache)
    org_secrets: OrgSecrets | None = None
    inputs: RunInputCache = field(default_factory=RunInputCache, repr=False)
    outage: StoreOutage = field(default_factory=StoreOutage)
    """Shared with the worker: reads and the finish wait out a database outage."""
    tokens: AccessTokens | None = None
    """OAuth2 access tokens (engine/token_source.py); None: kept in this process only."""
    metrics: EngineMetrics = NO_METRICS
    """Told of each attempt recorded (engine/metrics.py); shared with the worker."""
    delivery: DeliveryControl | None = None
    """Per-host limits and the circuit breaker (engine/delivery_gate.py); None: every
    attempt is sent at once (`callout run`)."""
    event_wants: EventWants | None = None
    """The run events each organization wants recorded with results; None: none."""

    def __post_init__(self) -> None:
        if self.tokens is None:
            self.tokens = AccessTokens(self.transport)

    async def _run_input(self, run_id: str) -> RunInput:
        # A run's document and trigger never change: read them once per run, and
        # keep them while they fit the cache's byte budget (engine/run_inputs.py).
        found = self.inputs.get(run_id)
        if found is None:
            found = await self.outage.ride_out(self.store.run_input, run_id)
            # Sizing walks every value: off the event loop for a large trigger.
            self.inputs.put(run_id, found, await asyncio.to_thread(estimated_size, found))
        return found

    async def execute(self, claim: Claim, answered: Callable[[], None] = _nothing) -> bool:
        """Make one attempt of the claimed step run; a lost lease drops the result.

        Returns whether the run goes on (a next step or a retry due, the step run put
        back): False when the attempt ended its run, or its lease was lost. The worker
        looks for due work at once only when it may have made some. `answered` is
        called once nothing more will be sent, before the result is recorded: the
        worker's slot is free for the next attempt while this one's result commits.
        """
        try:
            return await self._execute(claim, answered)
        except LeaseLostError as exc:
            self.metrics.store_error("lease_lost")
            log.warning("%s", exc, extra=claim_fields(claim))
            return False

    async def _execute(self, claim: Claim, answered: Callable[[], None]) -> bool:
        # The claim recorded this attempt as `sending` already (recorded before sent),
        # leased for the step's timeout plus the margin: no write before the request.
        # The claim usually carries the run's input; a large trigger is read on its own.
        found = claim.input or await self._run_input(claim.run_id)
        try:
            # A published version is compiled once per process (keyed by its id). In a
            # thread: one not yet compiled here costs up to ~1 s of CPU (a hostile 1 MiB one).
            workflow = self.workflows.cached(found.version_id, allow_http=self.allow_http)
            if workflow is None:
                if found.document is None:  # a version's document is not sent with claims
                    found = await self._run_input(claim.run_id)
                workflow = await asyncio.to_thread(
                    self.workflows.get,
                    found.document,
                    allow_http=self.allow_http,
                    version_id=found.version_id,
                )
        except DocumentError as exc:
            # Valid when recorded, refused by this worker's settings (say, plain http
            # no longer allowed): a final error, not a claim that comes back forever.
            result = AttemptResult(error=StepError("invalid_document", str(exc)))
            answered()
            return await self._record(claim, result, StepPolicy(), org_id=found.org_id)
        checked = workflow.steps[claim.position]
        seconds: float | None = None  # how long the action took, where it ran
        gate: HostGate | None = None  # delivery control, where the action ran
        if claim.interruptions >= MAX_INTERRUPTIONS:
            result = AttemptResult(
                error=StepError(
                    "interrupted",
                    f"the worker running this step died {claim.interruptions} times "
                    "during an attempt; not sending it again",
                )
            )
        else:
            # Only the outputs this step references: each may be large (the first
            # step has no earlier outputs to read).
            outputs = (
                await self.outage.ride_out(
                    self.store.outputs, claim.run_id, step_ids=checked.step_references
                )
                if claim.position and checked.step_references
                else {}
            )
            try:
                secrets, previous = await self._secrets(found.org_id)
            except SecretKeyError as exc:
                # The operator's key is missing or wrong: nothing can be signed or resolved.
                result = AttemptResult(error=StepError("secret_unavailable", str(exc)))
            else:
                scope = Scope(
                    trigger=found.trigger,
                    steps=outputs,
                    secrets=secrets,
                    run={"id": claim.run_id},
                    previous_secrets=previous,
                )
                gate = self._gate(claim, found.org_id, timeout=checked.policy.timeout)
                context = AttemptContext(
                    transport=self.transport,
                    clock=self.clock,
                    run_id=claim.run_id,
                    step_run_id=claim.step_run_id,
                    attempt_number=claim.next_number,
                    tokens=self.tokens.for_organization(found.org_id) if self.tokens else None,
                    gate=gate,
                )
                started = time.perf_counter()
                result = await checked.action.attempt(checked.config, scope, context)
                seconds = time.perf_counter() - started
                if result.deferred is not None:
                    answered()
                    await self._defer(claim, result.deferred)
                    return True
        answered()
        last_step = claim.position == len(workflow.steps) - 1
        return await self._record(
            claim,
            result,
            checked.policy,
            seconds=seconds,
            last_step=last_step,
            org_id=found.org_id,
            gate=gate,
        )

    def _gate(self, claim: Claim, org_id: str | None, *, timeout: float) -> HostGate | None:
        """Return the attempt's delivery gate; None for a run of no organization (no limits)."""
        if self.delivery is None or org_id is None:
            return None
        return self.delivery.gate(
            org_id=org_id,
            attempt_id=claim.attempt_id,
            step_run_id=claim.step_run_id,
            timeout=timeout,
            outage=self.outage,
        )

    async def _defer(self, claim: Claim, deferral: Deferral) -> None:
        """Put the step run back, unsent: a deferral is not an attempt (no retry is used)."""
        await self.outage.ride_out(self.store.defer, claim, deferral)
        self.metrics.deferred(deferral.kind)
        log.debug(
            "step %s of run %s deferred %.3f s: %s",
            claim.step_id,
            claim.run_id,
            deferral.delay,
            deferral.reason,
            extra=claim_fields(claim),
        )

    async def _secrets(self, org_id: str | None) -> tuple[Mapping[str, str], Mapping[str, str]]:
        """Return the secrets a run resolves against, current and previous.

        An organization's are read at each attempt (so a rotation reaches the next
        retry), all of them, even for a step that references none: a response that
        echoes any of them is redacted with them (test_secret_leaks.py). A run of no
        organization (`callout run`) uses this process's.
        """
        if org_id is None:
            return self.secrets, {}
        if self.org_secrets is None:
            raise SecretKeyError(
                "this worker has no secret key (CALLOUT_SECRET_KEY) to read the "
                "organization's secrets with"
            )
        found = await self.outage.ride_out(self.org_secrets.values, org_id, now=self.clock.now())
        return found.current, found.previous

    async def _record(  # noqa: PLR0913 - the attempt, how it went, and whose it was
        self,
        claim: Claim,
        result: AttemptResult,
        policy: StepPolicy,
        *,
        seconds: float | None = None,
        last_step: bool = False,
        org_id: str | None = None,
        gate: HostGate | None = None,
    ) -> bool:
        """Record the attempt's result; return whether the run goes on (`execute`)."""
        decided = decide(
            result,
            policy,
            failed_attempts_before=claim.attempts_made,
            retry_after_cap=self.retry_after_cap,
        )
        if (
            decided.decision is Decision.ERRORED_CONTINUE
            or decided.decision is Decision.ERRORED_FAIL
        ):
            # Type, HTTP status and message only: a body (the server's or ours) never
            # reaches the log; the attempt record keeps it, redacted. The message of an
            # error with a response may quote it (a schema mismatch names the value), so
            # only our own messages, redacted when made and cut short, are logged.
            error = result.error
            log.info(
                "step %s of run %s errored: %s (HTTP status %s): %s",
                claim.step_id,
                claim.run_id,
                error.type if error else "unknown",
                error.status if error and error.status is not None else "none",
                error.message[:LOGGED_MESSAGE_CHARS]
                if error and error.status is None
                else "(see the attempt record)",
                extra=claim_fields(claim),
            )
        wanted = (
            await self.outage.ride_out(self.event_wants.of, org_id)
            if self.event_wants is not None and org_id is not None
            else frozenset()
        )
        host = (
            gate.outcome(result, announce=EventType.HOST_PAUSED in wanted)
            if gate is not None
            else None
        )
        # Built once and kept while the database is out: recorded when it is back, or
        # refused by the lease fence (LeaseLostError) if another worker took over.
        await self.outage.ride_out(
            self.store.finish_attempt,
            claim,
            FinishedAttempt(
                attempt_id=claim.attempt_id,
                succeeded=result.succeeded,
                decision=decided.decision,
                http_status=result.response.status if result.response else None,
                error=result.error.to_json() if result.error else None,
                request=result.request.to_json() if result.request else None,
                response=result.response.to_json() if result.response else None,
                output=decided.output,
                retry_delay=decided.retry_delay,
                host=host,
                events=wanted,
            ),
        )
        if gate is not None:
            gate.recorded(host)
        ended = run_end(decided.decision, last_step=last_step)
        self.metrics.attempt_recorded(
            RecordedAttempt(
                decision=decided.decision,
                http_status=result.response.status if result.response else None,
                error_type=result.error.type if result.error else None,
                seconds=seconds,
                url=result.request.url if result.request else None,
                run_end=ended,
            )
        )
        return ended is None
