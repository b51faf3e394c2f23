"""Make HTTPS Request asks delivery control (`context.gate`) right before its request leaves.

The gate here is a recording stand-in for engine/delivery_gate.py (proven on its
own in tests/unit/engine/test_delivery_gate.py): these tests prove what the step
asks, by which host, and that a deferral sends nothing.
"""

from __future__ import annotations

from typing import Any

from callout.http import InboundResponse, OutboundRequest
from callout.http.testing import MockTransport
from callout.model.clock import ManualClock
from callout.model.delivery import Deferral
from callout.steps.attempt import AttemptContext, AttemptResult
from callout.steps.https_request import HttpsRequestAction, HttpsRequestConfig
from callout.steps.tokens import ClientCredentials
from callout.steps.validation import validate_workflow
from callout.templates import Scope

JSON = (("Content-Type", "application/json"),)


class RecordingGate:
    """Answers each ask with the next of `answers` (None: send), noting the host asked."""

    def __init__(self, *answers: Deferral | None) -> None:
        self.answers = list(answers) or [None]
        self.asked: list[str] = []

    async def admit(self, host: str) -> Deferral | None:
        self.asked.append(host)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


class Tokens:
    """Hands out `token-1`, `token-2`... without any request (the token source's own concern)."""

    def __init__(self) -> None:
        self.calls = 0

    async def token(self, credentials: ClientCredentials, *, refused: str | None = None) -> str:
        self.calls += 1
        return f"token-{self.calls}"


def config(**step: Any) -> HttpsRequestConfig:
    document = {
        "name": "gated",
        "steps": [
            {"id": "call", "action": "make_https_request", "url": "https://API.Test:8443/x"} | step
        ],
    }
    checked = validate_workflow(document).steps[0].config
    assert isinstance(checked, HttpsRequestConfig)
    return checked


async def attempt(
    transport: MockTransport, gate: RecordingGate, tokens: Tokens | None = None, **step: Any
) -> AttemptResult:
    context = AttemptContext(
        transport=transport,
        clock=ManualClock(),
        run_id="wfr_1",
        step_run_id="stp_1",
        attempt_number=1,
        tokens=tokens,
        gate=gate,
    )
    scope = Scope(trigger={}, steps={}, secrets={"oauth": "client-s3cret"}, run={"id": "wfr_1"})
    return await HttpsRequestAction().attempt(config(**step), scope, context)


def answering(*statuses: int) -> MockTransport:
    answers = list(statuses)

    def answer(_: OutboundRequest) -> InboundResponse:
        status = answers.pop(0) if len(answers) > 1 else answers[0]
        return InboundResponse(status, JSON, b"{}")

    return MockTransport(answer)


async def test_the_gate_is_asked_by_host_name_lower_case_without_the_port() -> None:
    gate = RecordingGate()
    transport = answering(200)
    result = await attempt(transport, gate)
    assert result.succeeded
    assert gate.asked == ["api.test"]
    assert len(transport.requests) == 1


async def test_a_deferred_attempt_sends_nothing_and_says_when_to_come_back() -> None:
    deferral = Deferral(
        host="api.test",
        delay=0.25,
        reason="waiting for a slot: at most 1 request in flight to api.test",
        kind="in_flight",
    )
    transport = answering(200)
    result = await attempt(transport, RecordingGate(deferral))
    assert result == AttemptResult(deferred=deferral)
    assert not result.succeeded
    assert transport.requests == []


async def test_an_oauth2_re_send_after_a_401_asks_again_for_the_same_host_only() -> None:
    gate = RecordingGate()
    auth = {
        "type": "oauth2_client_credentials",
        "token_url": "https://auth.test/token",
        "client_id": "client",
        "client_secret": "{{ secrets.oauth }}",
    }
    transport = answering(401, 200)
    result = await attempt(transport, gate, Tokens(), auth=auth)
    assert result.succeeded
    # The token endpoint is not gated; the API is asked for each of its two requests
    # (the gate admits the second without a second slot: engine/delivery_gate.py).
    assert gate.asked == ["api.test", "api.test"]
    assert len(transport.requests) == 2
