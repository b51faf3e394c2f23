"""Build one attempt's request: resolve references, check again, serialise once, sign."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from callout.http import OutboundRequest
from callout.model.errors import RequestRejected
from callout.model.records import RecordedRequest
from callout.model.redaction import CREDENTIAL_HEADERS, Redactor
from callout.signing import sign
from callout.steps.attempt import AttemptContext
from callout.steps.https_request.auth import (
    AUTHORIZATION,
    Authorization,
    bearer,
    resolve_authorization,
)
from callout.steps.https_request.auth_config import OAuth2Auth
from callout.steps.https_request.body import write_body
from callout.steps.https_request.config import (
    ATTEMPT_HEADER,
    IDEMPOTENCY_HEADER,
    MAX_HEADER_VALUE_LENGTH,
    METHODS_WITH_BODY,
    HttpsRequestConfig,
    check_header_value,
)
from callout.steps.https_request.connection_config import MAX_REDIRECTS
from callout.steps.https_request.pairs_config import NOT_UNICODE
from callout.steps.https_request.query import add_query
from callout.templates import (
    Scope,
    SizeBudget,
    TemplateSyntaxError,
    parse_template,
    referenced_secrets,
    resolve_text,
    resolve_url,
)

MAX_RESOLVED_URL_LENGTH = 8192

_HEADER_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
"""What HTTP forbids in a header value (RFC 9110 5.5), and aiohttp refuses with a ValueError."""

_URL_SPACE_OR_CONTROL = re.compile(r"[\x00-\x20\x7f]")
"""What a resolved URL must not hold: a space or a control character."""


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """The request to send, and its redacted copy for the attempt log."""

    outbound: OutboundRequest
    record: RecordedRequest
    redactor: Redactor


def check_resolved_url(url: str) -> None:
    """Refuse a resolved URL that is not an absolute http(s) URL with a host and no credentials.

    Whether plain HTTP may be sent is the transport's decision (the operator's setting).
    """
    if len(url) > MAX_RESOLVED_URL_LENGTH:
        raise RequestRejected(f"the URL is longer than {MAX_RESOLVED_URL_LENGTH} characters")
    if _URL_SPACE_OR_CONTROL.search(url):
        raise RequestRejected("the URL contains spaces or control characters")
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed or invalid [IPv6] host
        raise RequestRejected("the URL is not valid (its host in [ ] does not parse)") from None
    if parts.scheme.lower() not in ("https", "http") or not parts.hostname:
        raise RequestRejected("the URL must be an absolute https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise RequestRejected("the URL must not carry credentials (user:password@)")
    try:
        _ = parts.port
    except ValueError:
        raise RequestRejected("the URL has an invalid port") from None


def _signing_secrets(config: HttpsRequestConfig, scope: Scope) -> list[str]:
    """Return the values that sign, newest first.

    Every current value, then the previous value of each secret still in its
    rotation grace period.
    """
    values: list[str] = []
    previous: list[str] = []
    for template in config.secrets:
        value = resolve_text(template, scope)
        if not value:
            raise RequestRejected(f"the signing secret {template} is empty")
        values.append(value)
        previous.extend(
            scope.previous_secrets[name]
            for name in sorted(referenced_secrets(template))
            if scope.previous_secrets.get(name)
        )
    return values + [value for value in previous if value not in values]


def _check_unicode(text: str, what: str) -> None:
    """Refuse text that has no UTF-8 form, before the transport fails to encode it."""
    try:
        text.encode()
    except UnicodeEncodeError:
        raise RequestRejected(f"{what} {NOT_UNICODE}") from None


def _client_certificate(config: HttpsRequestConfig, scope: Scope) -> str | None:
    if config.client_certificate is None:
        return None
    pem = resolve_text(config.client_certificate, scope)
    if not pem.strip():
        raise RequestRejected(
            f"client_certificate: the secret {config.client_certificate} is empty"
        )
    return pem


_CARRIES_CREDENTIALS = frozenset({"secrets", "steps"})
"""Reference roots whose values may be credentials: a stored secret, or a token an
earlier step was given (a login step's answer)."""


def _carries_credentials(value: str) -> bool:
    try:
        template = parse_template(value)
    except TemplateSyntaxError:
        return True  # validation refuses it; never let it travel
    return any(reference.root in _CARRIES_CREDENTIALS for reference in template.references)


def _origin_bound_headers(config: HttpsRequestConfig) -> frozenset[str]:
    """Return the headers a redirect to another origin must not carry.

    The signature; headers named for credentials (`X-Api-Key`, `Proxy-Authorization`:
    `Authorization` and `Cookie` the transport drops itself); and every author header
    whose value comes from a secret or an earlier step's answer.
    """
    names = {config.signature_header.lower(), *CREDENTIAL_HEADERS}
    names.update(name.lower() for name, value in config.headers if _carries_credentials(value))
    return frozenset(names)


def _authorization(
    config: HttpsRequestConfig, scope: Scope, access_token: str | None
) -> Authorization | None:
    if isinstance(config.auth, OAuth2Auth):
        if access_token is None:
            raise RequestRejected("auth: no access token was fetched for this attempt")
        return bearer(access_token, "the access token")
    return resolve_authorization(config.auth, scope)


def prepare_request(
    config: HttpsRequestConfig,
    scope: Scope,
    context: AttemptContext,
    *,
    access_token: str | None = None,
    hidden: Iterable[str] = (),
) -> PreparedRequest:
    """Resolve and check `config` for one attempt. Raises ResolveError or RequestRejected.

    `access_token` is the OAuth2 token to send (for `oauth2_client_credentials`);
    `hidden` lists more values to keep out of the record (a token refused before).
    """
    # Each result is counted as it is resolved and stops at its limit, before its
    # memory is spent (2,000 references to one 50 KB value are not 100 MB first).
    url_budget = SizeBudget(MAX_RESOLVED_URL_LENGTH, what="the resolved URL", unit="characters")
    url = resolve_url(config.url, scope, budget=url_budget)
    url = add_query(url, config.query, scope, url_budget)
    check_resolved_url(url)
    _check_unicode(url, "the resolved URL")

    headers: list[tuple[str, str]] = []
    for name, template in config.headers:
        value = resolve_text(
            template,
            scope,
            budget=SizeBudget(
                MAX_HEADER_VALUE_LENGTH,
                what=f"header {name}: the resolved value",
                unit="characters",
            ),
        )
        if (why := check_header_value(value)) is not None:
            raise RequestRejected(f"header {name}: the resolved value {why}")
        if _HEADER_CONTROL.search(value):
            raise RequestRejected(
                f"header {name}: the resolved value holds a control character"
                " (of those, only tab may be sent)"
            )
        _check_unicode(value, f"header {name}: the resolved value")
        headers.append((name, value))
    authorization = _authorization(config, scope, access_token)
    if authorization is not None:
        headers.append((AUTHORIZATION, authorization.value))

    body = b""
    if config.has_body and config.method in METHODS_WITH_BODY:
        body, content_type = write_body(config, scope)
        if not any(name.lower() == "content-type" for name, _ in headers):
            headers.append(("Content-Type", content_type))
    headers.append((IDEMPOTENCY_HEADER, context.step_run_id))
    headers.append((ATTEMPT_HEADER, str(context.attempt_number)))

    signing_secrets = _signing_secrets(config, scope)
    if signing_secrets:
        # A fresh timestamp on every attempt: receivers reject stale ones.
        timestamp = int(context.clock.now())
        headers.append((config.signature_header, sign(body, signing_secrets, timestamp=timestamp)))
    certificate = _client_certificate(config, scope)

    redactor = Redactor(
        [
            *scope.secrets.values(),
            *scope.previous_secrets.values(),
            *signing_secrets,
            *(authorization.hidden if authorization is not None else ()),
            *hidden,
        ]
    )
    record = RecordedRequest(
        method=config.method,
        url=redactor.text(url),
        headers=redactor.headers(headers),
        body=redactor.text(body.decode("utf-8", errors="replace")),
    )
    outbound = OutboundRequest(
        method=config.method,
        url=url,
        headers=tuple(headers),
        body=body,
        timeout=config.timeout,
        client_certificate=certificate,
        follow_redirects=MAX_REDIRECTS if config.follow_redirects else 0,
        origin_bound_headers=_origin_bound_headers(config)
        if config.follow_redirects
        else frozenset(),
    )
    return PreparedRequest(outbound=outbound, record=record, redactor=redactor)
