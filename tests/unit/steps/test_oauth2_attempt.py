"""An oauth2_client_credentials attempt: its token from `context.tokens`, one refresh and one
re-send on a 401, and no token ever recorded. The TokenSource here is a fake."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from callout.http import InboundResponse, OutboundRequest
from callout.http.testing import MockTransport
from callout.model.clock import ManualClock
from callout.model.errors import TokenError
from callout.steps.attempt import AttemptContext, AttemptResult
from callout.steps.https_request import HttpsRequestAction, HttpsRequestConfig
from callout.steps.tokens import ClientCredentials, TokenSource
from callout.steps.validation import validate_workflow
from callout.templates import Scope

CLIENT_SECRET = "client-s3cret"
AUTH = {
    "type": "oauth2_client_credentials",
    "token_url": "https://auth.test/token",
    "client_id": "client-{{ trigger.tenant }}",
    "client_secret": "{{ secrets.oauth }}",
    "scopes": ["read"],
    "audience": "https://api.test",
}


class FakeTokens:
    """Hands out `token-1`, `token-2`... and remembers each call."""

    def __init__(self, *, fail: TokenError | None = None, fail_on: int = 1) -> None:
        self.calls: list[tuple[ClientCredentials, str | None]] = []
        self.fail = fail
        self.fail_on = fail_on

    async def token(self, credentials: ClientCredentials, *, refused: str | None = None) -> str:
        self.calls.append((credentials, refused))
        if self.fail is not None and len(self.calls) == self.fail_on:
            raise self.fail
        return f"token-{len(self.calls)}"


class StalledTokens:
    """Never answers: the attempt's timeout must cut the fetch off."""

    async def token(self, credentials: ClientCredentials, *, refused: str | None = None) -> str:
        await asyncio.Event().wait()
        raise AssertionError


def echoing(*statuses: int) -> MockTransport:
    """Answer each request with the next status, echoing its Authorization header."""
    answers = list(statuses)

    def answer(request: OutboundRequest) -> InboundResponse:
        status = answers.pop(0) if len(answers) > 1 else answers[0]
        auth = dict(request.headers)["Authorization"]
        body = json.dumps({"you_sent": auth}).encode()
        return InboundResponse(
            status, (("Content-Type", "application/json"), ("X-Echo", auth)), body
        )

    return MockTransport(answer)


def config(**step: Any) -> HttpsRequestConfig:
    document = {
        "name": "oauth2",
        "steps": [
            {"id": "call", "action": "make_https_request", "url": "https://api.test/"}
            | {"auth": AUTH}
            | step
        ],
    }
    checked = validate_workflow(document).steps[0].config
    assert isinstance(checked, HttpsRequestConfig)
    return checked


async def attempt(
    transport: MockTransport, tokens: TokenSource | None, **step: Any
) -> AttemptResult:
    context = AttemptContext(
        transport=transport,
        clock=ManualClock(),
        run_id="wfr_1",
        step_run_id="stp_1",
        attempt_number=1,
        tokens=tokens,
    )
    scope = Scope(
        trigger={"tenant": "acme"}, steps={}, secrets={"oauth": CLIENT_SECRET}, run={"id": "wfr_1"}
    )
    return await HttpsRequestAction().attempt(config(**step), scope, context)


def authorizations(transport: MockTransport) -> list[str]:
    return [dict(request.headers)["Authorization"] for request in transport.requests]


def recorded(result: AttemptResult) -> str:
    return json.dumps(
        [
            result.output,
            result.error.to_json() if result.error else None,
            result.request.to_json() if result.request else None,
            result.response.to_json() if result.response else None,
        ]
    )


async def test_the_token_from_the_source_is_sent_as_a_bearer_token() -> None:
    transport, tokens = echoing(200), FakeTokens()
    result = await attempt(transport, tokens)
    assert result.succeeded
    assert authorizations(transport) == ["Bearer token-1"]
    [(credentials, refused)] = tokens.calls
    assert refused is None
    assert credentials == ClientCredentials(
        token_url="https://auth.test/token",
        client_id="client-acme",
        client_secret=CLIENT_SECRET,
        scopes=("read",),
        audience="https://api.test",
        client_auth="basic",
        timeout=30.0,
    )


async def test_a_401_refreshes_once_with_the_refused_token_and_sends_once_more() -> None:
    transport, tokens = echoing(401, 200), FakeTokens()
    result = await attempt(transport, tokens)
    assert result.succeeded
    assert [refused for _, refused in tokens.calls] == [None, "token-1"]
    assert authorizations(transport) == ["Bearer token-1", "Bearer token-2"]
    assert result.output is not None
    assert result.output["status"] == 200


async def test_a_second_401_is_the_attempts_answer() -> None:
    transport, tokens = echoing(401), FakeTokens()
    result = await attempt(transport, tokens)
    assert result.error is not None
    assert (result.error.type, result.error.status) == ("http_status", 401)
    assert not result.retryable
    assert len(tokens.calls) == 2
    assert len(transport.requests) == 2


async def test_another_refusal_than_401_is_not_a_reason_to_refresh() -> None:
    transport, tokens = echoing(403), FakeTokens()
    result = await attempt(transport, tokens)
    assert result.error is not None
    assert result.error.status == 403
    assert (len(tokens.calls), len(transport.requests)) == (1, 1)


async def test_no_token_source_is_a_final_oauth2_token_error_and_nothing_is_sent() -> None:
    transport = echoing(200)
    result = await attempt(transport, None)
    assert result.error is not None
    assert result.error.type == "oauth2_token_error"
    assert "needs callout's service store" in result.error.message
    assert not result.retryable
    assert transport.requests == []


async def test_a_token_error_is_the_attempts_error_its_secret_hidden() -> None:
    failure = TokenError(f"the token endpoint refused {CLIENT_SECRET}", retryable=True)
    transport, tokens = echoing(200), FakeTokens(fail=failure)
    result = await attempt(transport, tokens)
    assert result.error is not None
    assert result.error.type == "oauth2_token_error"
    assert result.error.message == "the token endpoint refused [redacted]"
    assert result.retryable
    assert transport.requests == []


async def test_a_refresh_that_fails_keeps_the_401_it_answered() -> None:
    failure = TokenError("the token endpoint answered 500", retryable=True)
    transport, tokens = echoing(401), FakeTokens(fail=failure, fail_on=2)
    result = await attempt(transport, tokens)
    assert result.error is not None
    assert result.error.type == "oauth2_token_error"
    assert result.retryable
    assert result.response is not None
    assert result.response.status == 401
    assert len(transport.requests) == 1
    assert "token-1" not in recorded(result)


async def test_no_access_token_is_recorded_even_when_the_server_echoes_it() -> None:
    for statuses in ((200,), (401, 200), (401,), (401, 500)):
        result = await attempt(echoing(*statuses), FakeTokens())
        text = recorded(result)
        assert "token-1" not in text, statuses
        assert "token-2" not in text, statuses
        assert CLIENT_SECRET not in text, statuses
        assert "[redacted]" in text


async def test_the_attempts_timeout_cuts_a_stalled_token_fetch_off() -> None:
    transport = echoing(200)
    result = await attempt(transport, StalledTokens(), timeout=1)
    assert result.error is not None
    assert result.error.type == "timeout"
    assert result.error.message == (
        "the attempt's timeout (1 s) passed while fetching the access token"
    )
    assert result.retryable
    assert transport.requests == []
