"""Where a redirect leads, and what of the request goes there (no I/O here).

The transport follows a redirect only when `OutboundRequest.follow_redirects`
allows one more; each hop it makes is a new request, checked like the first
(scheme, address guard, TLS) and sent under the same overall timeout.

- 301, 302, 303, 307 and 308 are redirects; any other status is an answer;
- 303, and 301 or 302 after a POST, become a GET without a body (and without
  the headers that describe a body); 307 and 308 keep the method and body;
- a `Location` is resolved against the URL that answered (it may be relative);
  one that is not http(s), or that carries a user name or password, is refused;
- a hop to another origin (scheme, host, port) drops `Authorization`, `Cookie`,
  `Proxy-Authorization`, `Host` and the request's `origin_bound_headers`, for
  that hop and every later one;
- https to plain http is refused unless the operator allows http.
"""

from __future__ import annotations

from dataclasses import dataclass

from yarl import URL

from callout.model.errors import RequestRejected

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

ALWAYS_ORIGIN_BOUND = frozenset({"authorization", "cookie", "proxy-authorization", "host"})
"""Headers no redirect carries to another origin, whatever the request says."""

# The headers that describe a body (the Fetch standard's "request-body-header
# names", plus the two that frame it): they go with the body.
_BODY_HEADERS = frozenset(
    {
        "content-encoding",
        "content-language",
        "content-length",
        "content-location",
        "content-type",
        "transfer-encoding",
    }
)


@dataclass(frozen=True, slots=True)
class Hop:
    """One request of a chain of redirects: what is sent, and where."""

    method: str
    url: URL
    headers: tuple[tuple[str, str], ...]
    body: bytes


def is_redirect(status: int) -> bool:
    """Say whether `status` is a redirect the transport can follow."""
    return status in REDIRECT_STATUSES


def next_hop(
    current: Hop,
    status: int,
    location: str,
    *,
    origin_bound: frozenset[str] = frozenset(),
    allow_http: bool = False,
) -> Hop:
    """Return the request a `status` redirect to `location` leads to from `current`.

    Raises `RequestRejected` for a `Location` that cannot be followed; its
    message names the scheme, never the URL (its query may carry a token).
    """
    target = _target(current.url, location)
    if current.url.scheme == "https" and target.scheme == "http" and not allow_http:
        raise RequestRejected(
            "the redirect leads from https to plain http, which is not followed "
            "(an operator can allow http with CALLOUT_ALLOW_HTTP=1)"
        )
    method, headers, body = current.method, current.headers, current.body
    if status == 303 or (status in (301, 302) and method.upper() == "POST"):
        method = "HEAD" if method.upper() == "HEAD" else "GET"
        body = b""
        headers = _without(headers, _BODY_HEADERS)
    if _origin(target) != _origin(current.url):
        dropped = ALWAYS_ORIGIN_BOUND | {name.lower() for name in origin_bound}
        headers = _without(headers, dropped)
    return Hop(method=method, url=target, headers=headers, body=body)


def _target(base: URL, location: str) -> URL:
    try:
        # join() resolves relative, scheme-relative (//host/path) and absolute
        # references alike, as RFC 3986 section 5 says.
        target = base.join(URL(location.strip()))
    except (ValueError, TypeError, UnicodeError):
        raise RequestRejected("the redirect's Location is not a valid URL") from None
    scheme = target.scheme.lower()
    if scheme not in ("http", "https"):
        raise RequestRejected(
            f"the redirect leads to a URL with scheme {scheme!r}; only http and https are followed"
        )
    if target.user is not None or target.password is not None:
        raise RequestRejected(
            "the redirect leads to a URL with a user name or password, which is not followed"
        )
    if not target.host:
        raise RequestRejected("the redirect's Location has no host")
    return target.with_fragment(None)


def _without(
    headers: tuple[tuple[str, str], ...], names: frozenset[str]
) -> tuple[tuple[str, str], ...]:
    return tuple((name, value) for name, value in headers if name.lower() not in names)


def _origin(url: URL) -> tuple[str, str, int | None]:
    return url.scheme.lower(), (url.host or "").lower(), url.port
