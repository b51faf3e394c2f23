"""Fetch one OAuth2 access token: the client-credentials grant (RFC 6749 4.4), through the guard.

The request goes through the step's own `Transport`, so the address guard, the
trusted CAs, the byte cap and the timeout hold for the token URL exactly as for
the step's URL. No redirect is followed (the request carries the client secret).

Every failure is a `TokenError` whose message names the token endpoint's host
and, where the server gave one, its OAuth error code; it never holds the client
secret, the `Authorization` header or a token (docs/oauth2.md, "When it fails").
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus, urlencode, urlsplit

from callout.http import OutboundRequest, Transport
from callout.model.errors import AttemptError, AttemptTimeout, ConnectError, GuardError, TokenError
from callout.model.json_input import JsonInputError, parse_json_value
from callout.model.redaction import Redactor
from callout.steps.https_request.outcome import RETRYABLE_STATUSES
from callout.steps.tokens import ClientCredentials

DEFAULT_EXPIRES_IN = 300.0
"""Seconds a token is taken to live when the server's answer has no `expires_in`.

Short on purpose: a token that lives longer is fetched again a little early; one
that lives shorter is refused with a 401, and the step then asks for a fresh one."""

MAX_TOKEN_RESPONSE_BYTES = 64 * 1024
"""The largest token endpoint answer read (a token response is a few KiB at most)."""

MAX_ACCESS_TOKEN_CHARS = 16 * 1024
"""The longest access token accepted (it goes into a header)."""

DESCRIPTION_CHARS = 200
"""How much of the server's `error_description` a message quotes."""

_ERROR_CODE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
# A token goes into `Authorization: Bearer <token>`: visible ASCII only, no space.
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")
_NOT_PRINTABLE = re.compile(r"[^\x20-\x7e]+")
_WHOLE_SECONDS = re.compile(r"[0-9]{1,12}")
_FORM = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}


@dataclass(frozen=True, slots=True)
class FetchedToken:
    """An access token as the token endpoint gave it; the token never prints."""

    access_token: str = field(repr=False)
    expires_in: float
    """Seconds it lives from the moment it was received (`DEFAULT_EXPIRES_IN` if not said)."""


def token_request(credentials: ClientCredentials, *, timeout: float) -> OutboundRequest:
    """Return the token request: a form-encoded POST of the grant, the client authenticated.

    `client_auth: basic` sends `Authorization: Basic base64(id:secret)`, each of id
    and secret form-urlencoded first (RFC 6749 2.3.1); `body` sends them as the
    `client_id` and `client_secret` fields. `scope` is the scopes joined by spaces.
    """
    fields: list[tuple[str, str]] = [("grant_type", "client_credentials")]
    if credentials.scopes:
        fields.append(("scope", " ".join(credentials.scopes)))
    if credentials.audience is not None:
        fields.append(("audience", credentials.audience))
    headers = list(_FORM.items())
    if credentials.client_auth == "body":
        fields += [
            ("client_id", credentials.client_id),
            ("client_secret", credentials.client_secret),
        ]
    else:
        headers.append(("Authorization", f"Basic {_basic_credential(credentials)}"))
    body = urlencode(fields, quote_via=quote_plus).encode()
    return OutboundRequest(
        "POST", credentials.token_url, headers=tuple(headers), body=body, timeout=timeout
    )


def _basic_credential(credentials: ClientCredentials) -> str:
    """Return base64(id:secret), each form-urlencoded first (RFC 6749 2.3.1)."""
    pair = f"{quote_plus(credentials.client_id, safe='')}:"
    pair += quote_plus(credentials.client_secret, safe="")
    return base64.b64encode(pair.encode()).decode()


async def fetch_token(
    credentials: ClientCredentials,
    transport: Transport,
    *,
    timeout: float | None = None,  # noqa: ASYNC109 - the transport's own deadline, not asyncio's
) -> FetchedToken:
    """Ask the token endpoint for a token; raise `TokenError` when none can be had.

    `timeout` (default: the credentials' own) bounds the whole exchange. Retryable:
    a timeout, a connection failure, 408, 425, 429, 500, 502, 503, 504. Final:
    anything else (refused credentials, an answer that is not a bearer token).
    """
    seconds = credentials.timeout if timeout is None else timeout
    endpoint = _endpoint(credentials.token_url)
    try:
        response = await transport.send(token_request(credentials, timeout=seconds))
    except GuardError as exc:
        raise TokenError(f"the token URL's address is refused: {exc}") from None
    except AttemptTimeout:
        raise TokenError(
            f"the token endpoint {endpoint} did not answer within {seconds:g} s", retryable=True
        ) from None
    except ConnectError as exc:
        raise TokenError(f"could not reach the token endpoint: {exc}", retryable=True) from None
    except AttemptError as exc:
        raise TokenError(
            f"the token request to {endpoint} failed: {exc}", retryable=exc.retryable
        ) from None
    if len(response.body) > MAX_TOKEN_RESPONSE_BYTES:
        raise TokenError(
            f"the token endpoint {endpoint} answered with more than "
            f"{MAX_TOKEN_RESPONSE_BYTES // 1024} KiB; a token response is smaller"
        )
    answer = _json_object(response.body)
    if not 200 <= response.status < 300:
        raise _refusal(endpoint, response.status, answer, credentials)
    if answer is None:
        raise TokenError(f"the token endpoint {endpoint} answered with something that is not JSON")
    if "error" in answer:
        # Some servers say no with a 200; it is a refusal all the same.
        raise _refusal(endpoint, response.status, answer, credentials)
    return _token_of(endpoint, answer)


def _endpoint(token_url: str) -> str:
    """Name the token endpoint as messages do: its host (and port), never its path or query."""
    try:
        parts = urlsplit(token_url)
        host = parts.hostname or "(no host)"
        port = parts.port
    except ValueError:
        return "(an invalid URL)"
    return f"{host}:{port}" if port is not None else host


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        value = parse_json_value(body)
    except JsonInputError:
        return None
    return value if isinstance(value, dict) else None


def _refusal(
    endpoint: str, status: int, answer: dict[str, Any] | None, credentials: ClientCredentials
) -> TokenError:
    retryable = status in RETRYABLE_STATUSES or status >= 500
    said = ""
    if answer is not None:
        code = answer.get("error")
        if isinstance(code, str) and _ERROR_CODE.fullmatch(code):
            said = code
        description = answer.get("error_description")
        if isinstance(description, str) and description.strip():
            said += f"{': ' if said else ''}{_quoted(description, credentials)}"
    if 300 <= status < 400:
        said = f"{said}; " if said else ""
        said += "a redirect, not followed: give the URL it points to as token_url"
    detail = f" ({said})" if said else ""
    return TokenError(
        f"the token endpoint {endpoint} answered {status}{detail}", retryable=retryable
    )


def _quoted(text: str, credentials: ClientCredentials) -> str:
    """Quote the server's own words: short, printable, without the client secret in any form."""
    # The secret, and the Basic credential that carries it (a server may echo its header).
    redactor = Redactor([credentials.client_secret, _basic_credential(credentials)])
    # Hidden before the cut (the answer is at most 64 KiB), so no cut splits the secret.
    shown = _NOT_PRINTABLE.sub(" ", redactor.text(text)[: DESCRIPTION_CHARS * 4]).strip()
    return shown if len(shown) <= DESCRIPTION_CHARS else shown[: DESCRIPTION_CHARS - 3] + "..."


def _token_of(endpoint: str, answer: dict[str, Any]) -> FetchedToken:
    token = answer.get("access_token")
    if not isinstance(token, str) or not token:
        raise TokenError(f"the token endpoint {endpoint} answered without an access_token")
    if len(token) > MAX_ACCESS_TOKEN_CHARS:
        raise TokenError(
            f"the access token from {endpoint} is longer than {MAX_ACCESS_TOKEN_CHARS} characters"
        )
    if not _HEADER_SAFE.fullmatch(token):
        raise TokenError(
            f"the access token from {endpoint} holds characters a header cannot carry "
            "(only visible ASCII is allowed)"
        )
    kind = answer.get("token_type", "bearer")
    if not isinstance(kind, str) or kind.lower() != "bearer":
        shown = kind if isinstance(kind, str) and _ERROR_CODE.fullmatch(kind) else "another type"
        raise TokenError(
            f"the token endpoint {endpoint} gave a token of type {shown}; "
            "callout sends bearer tokens only"
        )
    return FetchedToken(access_token=token, expires_in=_expires_in(endpoint, answer))


def _expires_in(endpoint: str, answer: dict[str, Any]) -> float:
    value = answer.get("expires_in")
    if value is None:
        return DEFAULT_EXPIRES_IN
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and _WHOLE_SECONDS.fullmatch(value.strip()):
        seconds = float(value.strip())  # some servers send the number as a string
    if seconds is None or seconds < 0:
        raise TokenError(
            f"the token endpoint {endpoint} gave an expires_in that is not a number of seconds"
        )
    return seconds
