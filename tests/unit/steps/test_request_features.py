"""What an attempt sends for query, form and raw bodies, auth, client certificates and
redirects (the request as built; tests/integration/step/ sends them to a real server)."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
from typing import Any

import pytest

from callout.http import InboundResponse, OutboundRequest
from callout.http.testing import MockTransport
from callout.model.clock import ManualClock
from callout.signing import verify
from callout.steps.attempt import AttemptContext, AttemptResult
from callout.steps.https_request import HttpsRequestAction, HttpsRequestConfig
from callout.steps.https_request.request import prepare_request
from callout.steps.validation import validate_workflow
from callout.templates import Scope

SECRETS = {"sig": "signing-key", "pw": "p@ss wörd/+", "token": "tok-123", "cert": "PEM TEXT"}
NOW = 1_800_000_000.0


def config_of(**step: Any) -> HttpsRequestConfig:
    document = {
        "name": "features",
        "steps": [
            {"id": "call", "action": "make_https_request", "url": "https://api.test/p"} | step
        ],
    }
    checked = validate_workflow(document).steps[0].config
    assert isinstance(checked, HttpsRequestConfig)
    return checked


def scope_of(trigger: Any = None) -> Scope:
    return Scope(trigger=trigger or {}, steps={}, secrets=SECRETS, run={"id": "wfr_1"})


def context_of(transport: MockTransport | None = None) -> AttemptContext:
    return AttemptContext(
        transport=transport or MockTransport(lambda _: InboundResponse(200, (), b"")),
        clock=ManualClock(NOW),
        run_id="wfr_1",
        step_run_id="stp_1",
        attempt_number=1,
    )


def sent(trigger: Any = None, **step: Any) -> OutboundRequest:
    return prepare_request(config_of(**step), scope_of(trigger), context_of()).outbound


async def attempt(trigger: Any = None, **step: Any) -> AttemptResult:
    return await HttpsRequestAction().attempt(config_of(**step), scope_of(trigger), context_of())


def header(request: OutboundRequest, name: str) -> str | None:
    return next((v for k, v in request.headers if k.lower() == name.lower()), None)


def test_query_pairs_follow_the_urls_own_query_percent_encoded_in_list_order() -> None:
    request = sent(
        {"q": "a b", "n": 10, "tag": "x&y=z"},
        url="https://api.test/p?q={{ trigger.q }}&expand[]=customer",
        query=[
            {"key": "limit", "value": "{{ trigger.n }}"},
            {"key": "tag", "value": "{{ trigger.tag }}"},
            {"key": "tag", "value": "é ~-._*+"},
            {"key": "odd key[]", "value": ""},
        ],
    )
    assert request.url == (
        "https://api.test/p?q=a%20b&expand[]=customer"
        "&limit=10&tag=x%26y%3Dz&tag=%C3%A9%20~-._%2A%2B&odd%20key%5B%5D="
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.test/p", "https://api.test/p?a=1"),
        ("https://api.test/p?", "https://api.test/p?a=1"),
        ("https://api.test/p?x=0&", "https://api.test/p?x=0&a=1"),
        ("https://api.test/p#part", "https://api.test/p?a=1#part"),
        ("https://api.test/p?x=0#part", "https://api.test/p?x=0&a=1#part"),
    ],
)
def test_query_pairs_join_any_url_before_its_fragment(url: str, expected: str) -> None:
    assert sent(url=url, query=[{"key": "a", "value": "1"}]).url == expected


async def test_a_query_value_that_is_an_object_is_a_final_error() -> None:
    result = await attempt({"o": {"a": 1}}, query=[{"key": "o", "value": "{{ trigger.o }}"}])
    assert result.error is not None
    assert result.error.type == "unresolved_reference"
    assert "only text, numbers, booleans and null can be placed inside text" in (
        result.error.message
    )


async def test_query_pairs_count_toward_the_resolved_urls_8192_characters() -> None:
    result = await attempt({"v": "x" * 5000}, query=[{"key": "a", "value": "{{ trigger.v }}"}] * 2)
    assert result.error is not None
    assert result.error.type == "request_too_large"
    assert "the resolved URL passes 8192 characters" in result.error.message


def test_form_body_is_form_encoded_signed_and_typed() -> None:
    request = sent(
        {"amount": 1999, "name": "Ada & Co"},
        body_type="form",
        body=[
            {"key": "amount", "value": "{{ trigger.amount }}"},
            {"key": "metadata[order]", "value": "{{ trigger.name }}"},
            {"key": "note", "value": "é ~*+/"},
        ],
        secret="{{ secrets.sig }}",
    )
    assert request.body == (b"amount=1999&metadata%5Border%5D=Ada+%26+Co&note=%C3%A9+~%2A%2B%2F")
    assert header(request, "Content-Type") == "application/x-www-form-urlencoded"
    signature = header(request, "Persona-Signature")
    assert signature is not None
    assert verify(signature, request.body, "signing-key", now=NOW) == int(NOW)


def test_an_authors_content_type_header_wins_over_the_form_default() -> None:
    request = sent(
        body_type="form",
        body=[{"key": "a", "value": "b"}],
        headers=[
            {"key": "Content-Type", "value": "application/x-www-form-urlencoded; charset=utf-8"}
        ],
    )
    assert [v for k, v in request.headers if k.lower() == "content-type"] == [
        "application/x-www-form-urlencoded; charset=utf-8"
    ]


def test_raw_body_is_the_resolved_text_in_utf8_with_its_content_type() -> None:
    request = sent(
        {"id": 'o"1', "n": 2.5, "ok": True},
        body_type="raw",
        body='<order id="{{ trigger.id }}" n="{{ trigger.n }}" ok="{{ trigger.ok }}">é</order>',
        content_type="application/xml",
        secret="{{ secrets.sig }}",
    )
    assert request.body == '<order id="o"1" n="2.5" ok="true">é</order>'.encode()
    assert header(request, "Content-Type") == "application/xml"
    signature = header(request, "Persona-Signature")
    assert signature is not None
    assert verify(signature, request.body, "signing-key", now=NOW) == int(NOW)


def test_raw_body_defaults_to_text_plain_utf8() -> None:
    request = sent({"n": 3}, body_type="raw", body="{{ trigger.n }}")
    assert (request.body, header(request, "Content-Type")) == (b"3", "text/plain; charset=utf-8")


async def test_a_raw_body_reference_to_an_object_is_a_final_error() -> None:
    result = await attempt({"o": [1]}, body_type="raw", body="{{ trigger.o }}")
    assert result.error is not None
    assert result.error.type == "unresolved_reference"


def test_basic_auth_sends_base64_of_user_colon_password_in_utf8() -> None:
    request = sent(auth={"type": "basic", "username": "ada", "password": "{{ secrets.pw }}"})
    expected = base64.b64encode("ada:p@ss wörd/+".encode()).decode()
    assert header(request, "Authorization") == f"Basic {expected}"


def test_basic_auth_without_a_password_sends_an_empty_one() -> None:
    request = sent(auth={"type": "basic", "username": "{{ secrets.token }}"})
    assert header(request, "Authorization") == "Basic " + base64.b64encode(b"tok-123:").decode()


async def test_a_resolved_user_name_with_a_colon_is_refused() -> None:
    result = await attempt({"u": "a:b"}, auth={"type": "basic", "username": "{{ trigger.u }}"})
    assert result.error is not None
    assert result.error.type == "request_rejected"
    assert result.error.message.startswith('auth.username: the resolved user name holds ":"')


def test_bearer_auth_sends_the_token() -> None:
    request = sent(auth={"type": "bearer", "token": "{{ secrets.token }}"})
    assert header(request, "Authorization") == "Bearer tok-123"


def test_the_record_hides_every_form_of_the_basic_credentials() -> None:
    prepared = prepare_request(
        config_of(
            auth={"type": "basic", "username": "ada", "password": "{{ secrets.pw }}"},
            body_type="raw",
            body="{{ secrets.pw }} ada:{{ secrets.pw }}",
        ),
        scope_of(),
        context_of(),
    )
    encoded = base64.b64encode("ada:p@ss wörd/+".encode()).decode()
    recorded = repr(prepared.record)
    assert "p@ss" not in recorded
    assert encoded not in recorded
    assert dict(prepared.record.headers)["Authorization"] == "Basic [redacted]"
    assert prepared.redactor.text(f"echo {encoded} p%40ss%20w%C3%B6rd%2F%2B") == (
        "echo [redacted] [redacted]"
    )


def test_client_certificate_is_resolved_into_the_request() -> None:
    request = sent(client_certificate="{{ secrets.cert }}")
    assert request.client_certificate == "PEM TEXT"
    assert "PEM TEXT" not in repr(request)
    assert sent().client_certificate is None


def test_follow_redirects_follows_5_and_binds_the_signature_and_secret_headers_to_the_origin() -> (
    None
):
    request = sent(
        follow_redirects=True,
        secret="{{ secrets.sig }}",
        headers=[
            {"key": "X-Api-Key", "value": "{{ secrets.token }}"},
            {"key": "X-Trace", "value": "{{ run.id }}"},
        ],
    )
    assert request.follow_redirects == 5
    assert {"persona-signature", "x-api-key"} <= request.origin_bound_headers
    assert "x-trace" not in request.origin_bound_headers
    assert sent().follow_redirects == 0


def test_a_header_from_an_earlier_step_or_named_for_credentials_stays_at_its_origin() -> None:
    # The second step of a workflow whose first step logs in.
    config = dataclasses.replace(
        config_of(follow_redirects=True),
        headers=(
            ("X-Session", "{{ steps.login.body.token }}"),
            ("X-Api-Key", "literal-key"),
            ("X-Trace", "trace {{ trigger.id }}"),
        ),
    )
    scope = dataclasses.replace(
        scope_of({"id": "t1"}), steps={"login": {"status": 200, "body": {"token": "tok"}}}
    )
    bound = prepare_request(config, scope, context_of()).outbound.origin_bound_headers
    assert {"x-session", "x-api-key", "proxy-authorization"} <= bound
    assert "x-trace" not in bound


def test_a_resolved_url_whose_bracketed_host_does_not_parse_is_refused_before_sending() -> None:
    transport = MockTransport(lambda _: InboundResponse(200, (), b""))
    config = config_of(url="{{ trigger.url }}")
    result = asyncio.run(
        HttpsRequestAction().attempt(
            config, scope_of({"url": "https://[::1/x"}), context_of(transport)
        )
    )
    assert result.error is not None
    assert result.error.type == "request_rejected"
    assert "does not parse" in result.error.message
    assert transport.requests == []


def test_a_json_body_is_compact_utf8_and_signed_as_sent() -> None:
    trigger = {"name": "Zoë 😀", "n": 2.5, "big": 2**64 - 1, "tags": ["a", "b"], "none": None}
    request = sent(trigger, body={"who": "{{ trigger.name }}", "all": "{{ trigger }}"})
    expected = {"who": "Zoë 😀", "all": trigger}
    assert request.body == json.dumps(expected, separators=(",", ":"), ensure_ascii=False).encode()
    assert header(request, "Content-Type") == "application/json"


async def test_a_json_body_with_a_lone_surrogate_is_refused_before_sending() -> None:
    result = await attempt({"name": "\ud800"}, body={"who": "{{ trigger.name }}"})
    assert result.error is not None
    assert "resolved body" in result.error.message
