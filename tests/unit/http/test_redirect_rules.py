"""Where a redirect leads and what goes with it: method, body, credentials, schemes."""

from __future__ import annotations

import pytest
from yarl import URL

from callout.http.redirects import Hop, is_redirect, next_hop
from callout.model.errors import RequestRejected

HEADERS = (
    ("Authorization", "Bearer tok"),
    ("Cookie", "sid=1"),
    ("Persona-Signature", "t=1,v1=ab"),
    ("X-Api-Key", "k"),
    ("Content-Type", "application/json"),
    ("Idempotency-Key", "stp_1"),
)
POST = Hop("POST", URL("https://api.test/v1/charges?x=1", encoded=True), HEADERS, b'{"a":1}')
BOUND = frozenset({"persona-signature", "x-api-key"})


def names(hop: Hop) -> list[str]:
    return [name for name, _ in hop.headers]


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_the_five_redirect_statuses_are_redirects(status: int) -> None:
    assert is_redirect(status)


@pytest.mark.parametrize("status", [200, 300, 304, 305, 306, 400])
def test_other_statuses_are_answers(status: int) -> None:
    assert not is_redirect(status)


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("/v2/charges", "https://api.test/v2/charges"),
        ("next", "https://api.test/v1/next"),
        ("../up", "https://api.test/up"),
        ("?page=2", "https://api.test/v1/charges?page=2"),
        ("//api.test:8443/x", "https://api.test:8443/x"),
        ("https://other.test/y#frag", "https://other.test/y"),
    ],
)
def test_a_location_is_resolved_against_the_url_that_answered(location: str, expected: str) -> None:
    assert str(next_hop(POST, 307, location).url) == expected


@pytest.mark.parametrize("status", [301, 302, 303])
def test_303_and_301_302_after_post_become_a_get_without_body_or_its_headers(status: int) -> None:
    hop = next_hop(POST, status, "/done")
    assert (hop.method, hop.body) == ("GET", b"")
    assert "Content-Type" not in names(hop)
    assert "Authorization" in names(hop)  # same origin: credentials stay


@pytest.mark.parametrize("status", [307, 308])
def test_307_and_308_keep_method_body_and_headers(status: int) -> None:
    hop = next_hop(POST, status, "/again")
    assert (hop.method, hop.body, hop.headers) == ("POST", POST.body, HEADERS)


@pytest.mark.parametrize("status", [301, 302])
def test_301_302_after_put_keep_the_method_and_body(status: int) -> None:
    put = Hop("PUT", POST.url, HEADERS, b"x")
    assert (next_hop(put, status, "/b").method, next_hop(put, status, "/b").body) == ("PUT", b"x")


def test_303_after_head_stays_head() -> None:
    head = Hop("HEAD", POST.url, (), b"")
    assert next_hop(head, 303, "/b").method == "HEAD"


@pytest.mark.parametrize(
    "location",
    ["https://other.test/v1", "https://api.test:8443/v1", "http://api.test/v1"],
)
def test_leaving_the_origin_drops_credentials_and_origin_bound_headers(location: str) -> None:
    hop = next_hop(POST, 307, location, origin_bound=BOUND, allow_http=True)
    assert names(hop) == ["Content-Type", "Idempotency-Key"]


def test_origin_bound_names_match_in_any_case() -> None:
    hop = next_hop(POST, 307, "https://other.test/", origin_bound=frozenset({"X-API-KEY"}))
    assert "X-Api-Key" not in names(hop)


def test_the_same_origin_with_its_default_port_spelled_out_keeps_everything() -> None:
    hop = next_hop(POST, 307, "https://API.test:443/v2", origin_bound=BOUND)
    assert hop.headers == HEADERS


def test_https_to_http_is_refused_unless_http_is_allowed() -> None:
    with pytest.raises(RequestRejected, match=r"from https to plain http.*CALLOUT_ALLOW_HTTP=1"):
        next_hop(POST, 302, "http://api.test/v1")
    assert next_hop(POST, 302, "http://api.test/v1", allow_http=True).url.scheme == "http"


@pytest.mark.parametrize(
    ("location", "says"),
    [
        ("ftp://files.test/x", "scheme 'ftp'; only http and https are followed"),
        ("javascript:alert(1)", "scheme 'javascript'"),
        ("file:///etc/passwd", "scheme 'file'"),
        ("https://user:pw@api.test/x", "user name or password"),
        ("https://token@api.test/x", "user name or password"),
    ],
)
def test_a_location_that_cannot_be_followed_is_refused_without_quoting_it(
    location: str, says: str
) -> None:
    with pytest.raises(RequestRejected, match=says) as caught:
        next_hop(POST, 302, location)
    assert "pw" not in str(caught.value)
    assert "token" not in str(caught.value)
