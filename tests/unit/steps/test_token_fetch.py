"""The client-credentials grant: what is sent, what is read back, and how each failure reads.

The token endpoint is a `MockTransport` here; tests/integration/step/test_oauth2_tokens.py
fetches from a real HTTPS endpoint through the real, guarded transport.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qsl

import pytest

from callout.http import InboundResponse, OutboundRequest
from callout.http.testing import MockTransport
from callout.model.errors import (
    AttemptTimeout,
    ConnectError,
    GuardError,
    ResponseTooLarge,
    TLSError,
    TokenError,
)
from callout.steps.token_fetch import (
    DEFAULT_EXPIRES_IN,
    MAX_TOKEN_RESPONSE_BYTES,
    FetchedToken,
    fetch_token,
    token_request,
)
from callout.steps.tokens import ClientCredentials

TOKEN_URL = "https://auth.example.com/oauth/token?tenant=7"
SECRET = "s3cret/with+odd chars&=%"
TOKEN = "eyJhbGciOi.distinctive-access-token.Q2x"


def credentials(**changes: Any) -> ClientCredentials:
    values: dict[str, Any] = {
        "token_url": TOKEN_URL,
        "client_id": "my client:1",
        "client_secret": SECRET,
    }
    return ClientCredentials(**(values | changes))


def answer(status: int = 200, body: Any = None, *, raw: bytes | None = None) -> InboundResponse:
    if raw is None:
        if body is None:
            body = {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 3600}
        raw = json.dumps(body).encode()
    return InboundResponse(status=status, headers=(("Content-Type", "application/json"),), body=raw)


def form(request: OutboundRequest) -> list[tuple[str, str]]:
    return parse_qsl(request.body.decode(), keep_blank_values=True, strict_parsing=True)


def header(request: OutboundRequest, name: str) -> str | None:
    return next((value for key, value in request.headers if key.lower() == name.lower()), None)


async def fetched_with(response: InboundResponse, **changes: Any) -> FetchedToken:
    return await fetch_token(credentials(**changes), MockTransport(lambda _: response))


async def refusal(response: InboundResponse, **changes: Any) -> TokenError:
    with pytest.raises(TokenError) as caught:
        await fetched_with(response, **changes)
    return caught.value


# --- the request -------------------------------------------------------------


def test_the_grant_is_a_form_post_to_the_token_url_with_scopes_joined_by_spaces() -> None:
    request = token_request(
        credentials(scopes=("read:users", "write"), audience="https://api.example.com"),
        timeout=7.0,
    )
    assert (request.method, request.url, request.timeout) == ("POST", TOKEN_URL, 7.0)
    assert header(request, "Content-Type") == "application/x-www-form-urlencoded"
    assert header(request, "Accept") == "application/json"
    assert form(request) == [
        ("grant_type", "client_credentials"),
        ("scope", "read:users write"),
        ("audience", "https://api.example.com"),
    ]
    assert b"scope=read%3Ausers+write" in request.body
    assert request.follow_redirects == 0


def test_basic_client_auth_form_encodes_id_and_secret_before_base64() -> None:
    request = token_request(credentials(), timeout=30.0)
    value = header(request, "Authorization")
    assert value is not None
    scheme, _, encoded = value.partition(" ")
    assert scheme == "Basic"
    # RFC 6749 2.3.1: each of id and secret form-urlencoded, then joined by a colon.
    assert base64.b64decode(encoded).decode() == (
        "my+client%3A1:s3cret%2Fwith%2Bodd+chars%26%3D%25"
    )
    assert SECRET.encode() not in request.body
    assert form(request) == [("grant_type", "client_credentials")]


def test_body_client_auth_sends_id_and_secret_as_fields_and_no_authorization() -> None:
    request = token_request(credentials(client_auth="body"), timeout=30.0)
    assert header(request, "Authorization") is None
    assert form(request) == [
        ("grant_type", "client_credentials"),
        ("client_id", "my client:1"),
        ("client_secret", SECRET),
    ]


def test_no_scope_and_no_audience_fields_when_the_step_sets_none() -> None:
    request = token_request(credentials(), timeout=30.0)
    assert [name for name, _ in form(request)] == ["grant_type"]


async def test_the_fetch_takes_the_credentials_timeout_unless_told_another() -> None:
    transport = MockTransport(lambda _: answer())
    await fetch_token(credentials(timeout=12.5), transport)
    await fetch_token(credentials(timeout=12.5), transport, timeout=3.0)
    assert [request.timeout for request in transport.requests] == [12.5, 3.0]


# --- the answer --------------------------------------------------------------


async def test_a_bearer_token_is_read_with_its_lifetime() -> None:
    fetched = await fetched_with(answer())
    assert fetched == FetchedToken(access_token=TOKEN, expires_in=3600.0)
    assert TOKEN not in repr(fetched)


async def test_a_missing_expires_in_is_the_documented_default() -> None:
    fetched = await fetched_with(answer(body={"access_token": TOKEN, "token_type": "bearer"}))
    assert fetched.expires_in == DEFAULT_EXPIRES_IN == 300.0


async def test_expires_in_sent_as_a_string_of_digits_is_read() -> None:
    fetched = await fetched_with(answer(body={"access_token": TOKEN, "expires_in": "1800"}))
    assert fetched.expires_in == 1800.0


async def test_a_missing_token_type_is_taken_for_bearer() -> None:
    fetched = await fetched_with(answer(body={"access_token": TOKEN, "expires_in": 60}))
    assert fetched.access_token == TOKEN


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"token_type": "bearer"}, "answered without an access_token"),
        ({"access_token": "", "token_type": "bearer"}, "answered without an access_token"),
        ({"access_token": 42}, "answered without an access_token"),
        ({"access_token": TOKEN, "token_type": "mac"}, "a token of type mac"),
        ({"access_token": TOKEN, "token_type": "DPoP"}, "a token of type DPoP"),
        ({"access_token": TOKEN, "expires_in": -5}, "expires_in that is not a number"),
        ({"access_token": TOKEN, "expires_in": "soon"}, "expires_in that is not a number"),
        ({"access_token": TOKEN, "expires_in": True}, "expires_in that is not a number"),
        ({"access_token": "two words"}, "characters a header cannot carry"),
        ({"access_token": "line\r\nX-Injected: 1"}, "characters a header cannot carry"),
        ([1, 2], "something that is not JSON"),
    ],
)
async def test_an_answer_that_is_not_a_bearer_token_is_a_final_error(
    body: Any, message: str
) -> None:
    error = await refusal(answer(body=body))
    assert message in str(error)
    assert not error.retryable
    assert error.kind == "oauth2_token_error"


async def test_an_answer_that_is_not_json_is_a_final_error() -> None:
    error = await refusal(answer(raw=b"<html>Sign in</html>"))
    assert str(error) == (
        "the token endpoint auth.example.com answered with something that is not JSON"
    )
    assert not error.retryable


async def test_an_answer_over_the_token_size_is_refused_unread() -> None:
    error = await refusal(answer(raw=b" " * (MAX_TOKEN_RESPONSE_BYTES + 1)))
    assert "more than 64 KiB" in str(error)


# --- refusals ----------------------------------------------------------------


async def test_refused_credentials_name_the_status_and_the_oauth_error_code() -> None:
    error = await refusal(
        answer(
            401, {"error": "invalid_client", "error_description": "Client authentication failed"}
        )
    )
    assert str(error) == (
        "the token endpoint auth.example.com answered 401 "
        "(invalid_client: Client authentication failed)"
    )
    assert not error.retryable


@pytest.mark.parametrize("status", [400, 401, 403, 404])
async def test_a_client_error_is_final(status: int) -> None:
    error = await refusal(answer(status, {"error": "invalid_scope"}))
    assert str(error) == f"the token endpoint auth.example.com answered {status} (invalid_scope)"
    assert not error.retryable


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504, 507])
async def test_a_server_error_or_throttling_is_retryable(status: int) -> None:
    error = await refusal(answer(status, raw=b"busy"))
    assert str(error) == f"the token endpoint auth.example.com answered {status}"
    assert error.retryable


async def test_a_refusal_inside_a_200_is_a_refusal() -> None:
    error = await refusal(answer(200, {"error": "unauthorized_client"}))
    assert str(error) == "the token endpoint auth.example.com answered 200 (unauthorized_client)"
    assert not error.retryable


async def test_a_redirect_is_not_followed_and_says_so() -> None:
    error = await refusal(answer(302, raw=b""))
    assert "answered 302 (a redirect, not followed" in str(error)
    assert not error.retryable


async def test_an_error_code_that_is_not_a_plain_word_is_left_out() -> None:
    error = await refusal(answer(400, {"error": "<script>alert(1)</script>"}))
    assert str(error) == "the token endpoint auth.example.com answered 400"


async def test_the_server_description_is_cut_short_and_made_printable() -> None:
    error = await refusal(
        answer(400, {"error": "invalid_request", "error_description": "x\n" * 500})
    )
    said = str(error)
    assert "\n" not in said
    assert len(said) < 300
    assert said.endswith("...)")


async def test_a_description_that_echoes_the_client_secret_is_redacted_in_every_form() -> None:
    echoed = f"bad secret {SECRET} (encoded: s3cret%2Fwith%2Bodd+chars%26%3D%25)"
    error = await refusal(answer(401, {"error": "invalid_client", "error_description": echoed}))
    assert SECRET not in str(error)
    assert "s3cret%2Fwith%2Bodd+chars%26%3D%25" not in str(error)
    assert "[redacted]" in str(error)


# --- transport failures ------------------------------------------------------


@pytest.mark.parametrize(
    ("raised", "message", "retryable"),
    [
        (
            AttemptTimeout("no complete response within 30 s"),
            "the token endpoint auth.example.com did not answer within 30 s",
            True,
        ),
        (
            ConnectError("could not connect to auth.example.com: Connection refused"),
            (
                "could not reach the token endpoint: could not connect to auth.example.com: "
                "Connection refused"
            ),
            True,
        ),
        (
            GuardError("10.0.0.5 is in 10.0.0.0/8 (private), refused by the address guard"),
            (
                "the token URL's address is refused: 10.0.0.5 is in 10.0.0.0/8 (private), "
                "refused by the address guard"
            ),
            False,
        ),
        (
            TLSError("the certificate of auth.example.com did not verify: expired"),
            (
                "the token request to auth.example.com failed: the certificate of "
                "auth.example.com did not verify: expired"
            ),
            False,
        ),
        (
            ResponseTooLarge("the response body passed the cap"),
            "the token request to auth.example.com failed: the response body passed the cap",
            False,
        ),
    ],
)
async def test_a_transport_failure_becomes_a_token_error_keeping_its_retryability(
    raised: Exception, message: str, retryable: bool
) -> None:
    def fail(_: OutboundRequest) -> InboundResponse:
        raise raised

    with pytest.raises(TokenError) as caught:
        await fetch_token(credentials(), MockTransport(fail))
    assert str(caught.value) == message
    assert caught.value.retryable is retryable
    assert caught.value.__cause__ is None  # nothing of the request rides along


async def test_no_message_holds_the_secret_or_the_basic_credential() -> None:
    basic = header(token_request(credentials(), timeout=1.0), "Authorization") or ""
    responses = [
        answer(401, {"error": "invalid_client", "error_description": f"got {basic}"}),
        answer(500, raw=SECRET.encode()),
        answer(200, {"access_token": TOKEN, "token_type": SECRET}),
    ]
    for response in responses:
        said = str(await refusal(response))
        assert SECRET not in said
        assert basic.partition(" ")[2] not in said
        assert TOKEN not in said
