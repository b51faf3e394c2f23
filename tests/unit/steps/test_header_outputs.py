"""The `header_values` and `url` outputs of a successful attempt, and the 3xx messages."""

from __future__ import annotations

from typing import Any

from callout.http import InboundResponse
from callout.model.records import RecordedRequest
from callout.model.redaction import Redactor
from callout.steps.https_request import HttpsRequestConfig
from callout.steps.https_request.outcome import classify

REQUEST = RecordedRequest("GET", "https://api.test/start?k=[redacted]", (), "")


def outcome(response: InboundResponse, config: HttpsRequestConfig | None = None) -> dict[str, Any]:
    result = classify(
        response,
        config or HttpsRequestConfig(url="https://api.test/"),
        request=REQUEST,
        redactor=Redactor(["s3cr3t"]),
        now=0,
    )
    assert result.output is not None
    return result.output


def test_header_values_keep_every_value_in_order_under_lower_case_names() -> None:
    output = outcome(
        InboundResponse(
            200,
            (
                ("Link", "<a>; rel=next"),
                ("X-Multi", "1"),
                ("x-multi", "2, 3"),
                ("Set-Cookie", "a=1; Path=/"),
                ("Set-Cookie", "b=2"),
            ),
            b"",
        )
    )
    assert output["header_values"] == {
        "link": ["<a>; rel=next"],
        "x-multi": ["1", "2, 3"],
        "set-cookie": ["[redacted]", "[redacted]"],
    }
    assert output["headers"]["x-multi"] == "1, 2, 3"


def test_header_values_hide_secrets_like_headers_do() -> None:
    output = outcome(InboundResponse(200, (("X-Echo", "key=s3cr3t"),), b""))
    assert output["header_values"] == {"x-echo": ["key=[redacted]"]}
    assert output["headers"] == {"x-echo": "key=[redacted]"}


def test_url_is_the_final_url_redacted() -> None:
    output = outcome(InboundResponse(200, (), b"", url="https://api.test/final?k=s3cr3t"))
    assert output["url"] == "https://api.test/final?k=[redacted]"


def test_url_falls_back_to_the_requests_when_the_transport_gives_none() -> None:
    assert outcome(InboundResponse(200, (), b""))["url"] == REQUEST.url


def test_a_redirect_not_followed_says_follow_redirects_would_follow_it() -> None:
    result = classify(
        InboundResponse(302, (("Location", "/next"),), b""),
        HttpsRequestConfig(url="https://api.test/"),
        request=REQUEST,
        redactor=Redactor([]),
        now=0,
    )
    assert result.error is not None
    assert result.error.type == "http_status"
    assert "follow_redirects: true follows them" in result.error.message


def test_a_redirect_still_there_after_five_says_so() -> None:
    result = classify(
        InboundResponse(307, (("Location", "/again"),), b""),
        HttpsRequestConfig(url="https://api.test/", follow_redirects=True),
        request=REQUEST,
        redactor=Redactor([]),
        now=0,
    )
    assert result.error is not None
    assert result.error.message == (
        "the server answered 307: still a redirect after 5 (follow_redirects follows at most 5)"
    )
    assert not result.retryable
