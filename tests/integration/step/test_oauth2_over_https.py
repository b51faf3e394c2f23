"""oauth2_client_credentials against a real loopback HTTPS API: the token from the attempt's
TokenSource (a fake here: the real one is the token store's), one refresh and one re-send on
a 401, and no token in anything recorded even when the API echoes it."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from callout.http import AiohttpTransport
from callout.model.clock import SystemClock
from callout.steps.attempt import AttemptContext, AttemptResult
from callout.steps.https_request import HttpsRequestAction, HttpsRequestConfig
from callout.steps.tokens import ClientCredentials
from callout.steps.validation import validate_workflow
from callout.templates import Scope
from support.https_servers import HttpsServer

CLIENT_SECRET = "oauth-client-secret"


class FakeTokens:
    """Hands out a new token per call; remembers what each call refused."""

    def __init__(self) -> None:
        self.refused: list[str | None] = []

    async def token(self, credentials: ClientCredentials, *, refused: str | None = None) -> str:
        assert credentials.client_secret == CLIENT_SECRET
        self.refused.append(refused)
        return f"access-{len(self.refused)}-{credentials.client_id}"


def answer(status: int) -> Any:
    """Answer `status`, echoing the Authorization header in the body and a header."""

    async def respond(request: web.Request) -> web.StreamResponse:
        authorization = request.headers.get("Authorization", "")
        return web.Response(
            status=status,
            text=json.dumps({"got": authorization}),
            content_type="application/json",
            headers={"X-Got": authorization.removeprefix("Bearer ")},
        )

    return respond


async def attempt(url: str, transport: AiohttpTransport, tokens: FakeTokens) -> AttemptResult:
    document = {
        "name": "oauth2",
        "steps": [
            {
                "id": "call",
                "action": "make_https_request",
                "url": url,
                "body": {"n": 1},
                "auth": {
                    "type": "oauth2_client_credentials",
                    "token_url": "https://auth.test/token",
                    "client_id": "crm",
                    "client_secret": "{{ secrets.oauth }}",
                },
            }
        ],
    }
    config = validate_workflow(document).steps[0].config
    assert isinstance(config, HttpsRequestConfig)
    context = AttemptContext(
        transport=transport,
        clock=SystemClock(),
        run_id="wfr_1",
        step_run_id="stp_1",
        attempt_number=1,
        tokens=tokens,
    )
    scope = Scope(trigger={}, steps={}, secrets={"oauth": CLIENT_SECRET}, run={"id": "wfr_1"})
    return await HttpsRequestAction().attempt(config, scope, context)


def recorded(result: AttemptResult) -> str:
    return json.dumps(
        [
            result.output,
            result.error.to_json() if result.error else None,
            result.request.to_json() if result.request else None,
            result.response.to_json() if result.response else None,
        ]
    )


async def test_a_401_makes_one_refresh_and_one_resend_whose_answer_is_the_attempts(
    https_server: HttpsServer, transport: AiohttpTransport
) -> None:
    https_server.script("/api", answer(401), answer(200))
    tokens = FakeTokens()
    result = await attempt(https_server.url("/api"), transport, tokens)
    assert result.succeeded, result.error
    assert tokens.refused == [None, "access-1-crm"]
    first, second = https_server.hits
    assert first.headers["Authorization"] == "Bearer access-1-crm"
    assert second.headers["Authorization"] == "Bearer access-2-crm"
    assert first.body == second.body == b'{"n":1}'
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    text = recorded(result)
    assert "access-1" not in text
    assert "access-2" not in text
    assert result.output is not None
    assert result.output["body"] == {"got": "Bearer [redacted]"}
    assert result.output["header_values"]["x-got"] == ["[redacted]"]


async def test_a_second_401_is_the_answer_and_nothing_more_is_sent(
    https_server: HttpsServer, transport: AiohttpTransport
) -> None:
    https_server.script("/api", answer(401))
    tokens = FakeTokens()
    result = await attempt(https_server.url("/api"), transport, tokens)
    assert result.error is not None
    assert (result.error.type, result.error.status) == ("http_status", 401)
    assert not result.retryable
    assert tokens.refused == [None, "access-1-crm"]
    assert len(https_server.hits) == 2
    text = recorded(result)
    assert "access-1" not in text
    assert "access-2" not in text
