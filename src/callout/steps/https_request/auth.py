"""Resolve the step's `auth` for one attempt: the `Authorization` header and what it hides.

Each value a credential takes on the way to the header (the password, the token,
`user:password` and its base64) is returned as `hidden`, for the attempt's
Redactor: a server that echoes any of them back leaves no trace in the record.
Messages name the field, never a value.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field

from callout.model.errors import RequestRejected
from callout.steps.https_request.auth_config import (
    Auth,
    BasicAuth,
    BearerAuth,
    OAuth2Auth,
)
from callout.steps.https_request.headers_config import MAX_HEADER_VALUE_LENGTH
from callout.steps.https_request.pairs_config import NOT_UNICODE
from callout.steps.tokens import ClientCredentials
from callout.templates import Scope, SizeBudget, referenced_secrets, resolve_text

AUTHORIZATION = "Authorization"

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
"""What may not be in a token sent in a header (nor a tab: a token holds none)."""


@dataclass(frozen=True, slots=True)
class Authorization:
    """The `Authorization` header value, and every value the Redactor must hide for it."""

    value: str = field(repr=False)
    hidden: tuple[str, ...] = field(repr=False)


def _resolve(template: str, scope: Scope, what: str) -> str:
    text = resolve_text(
        template,
        scope,
        budget=SizeBudget(
            MAX_HEADER_VALUE_LENGTH, what=f"{what}: the resolved value", unit="characters"
        ),
    )
    try:
        text.encode()
    except UnicodeEncodeError:
        raise RequestRejected(f"{what}: the resolved value {NOT_UNICODE}") from None
    return text


def _checked(header: str, what: str) -> str:
    if len(header) > MAX_HEADER_VALUE_LENGTH:
        raise RequestRejected(
            f"{what}: the Authorization header would be longer than "
            f"{MAX_HEADER_VALUE_LENGTH} characters"
        )
    return header


def bearer(token: str, what: str) -> Authorization:
    """Return `Authorization: Bearer <token>`; refuse an empty token or one with control bytes."""
    if not token.strip():
        raise RequestRejected(f"{what} is empty")
    if _CONTROL.search(token):
        raise RequestRejected(f"{what} holds a control character; it cannot be sent in a header")
    try:
        token.encode()
    except UnicodeEncodeError:
        raise RequestRejected(f"{what} {NOT_UNICODE}") from None
    return Authorization(_checked(f"Bearer {token}", what), (token,))


def _basic(auth: BasicAuth, scope: Scope) -> Authorization:
    username = _resolve(auth.username, scope, "auth.username")
    if ":" in username:
        raise RequestRejected(
            'auth.username: the resolved user name holds ":" '
            "(Basic separates the user name from the password with it)"
        )
    password = _resolve(auth.password, scope, "auth.password") if auth.password else ""
    pair = f"{username}:{password}"
    encoded = base64.b64encode(pair.encode()).decode("ascii")
    hidden = [pair, encoded] + ([password] if password else [])
    if referenced_secrets(auth.username):
        hidden.append(username)
    return Authorization(_checked(f"Basic {encoded}", "auth"), tuple(hidden))


def resolve_authorization(auth: Auth | None, scope: Scope) -> Authorization | None:
    """Resolve a Basic or Bearer `auth` (None for none, or for OAuth2: its token is fetched)."""
    if isinstance(auth, BasicAuth):
        return _basic(auth, scope)
    if isinstance(auth, BearerAuth):
        return bearer(_resolve(auth.token, scope, "auth.token"), "auth.token: the resolved token")
    return None


def client_credentials(auth: OAuth2Auth, scope: Scope, *, timeout: float) -> ClientCredentials:
    """Resolve an OAuth2 `auth` into the credentials a TokenSource fetches a token with."""
    client_id = _resolve(auth.client_id, scope, "auth.client_id")
    client_secret = _resolve(auth.client_secret, scope, "auth.client_secret")
    if not client_id:
        raise RequestRejected("auth.client_id: the resolved client id is empty")
    if not client_secret:
        raise RequestRejected(f"auth.client_secret: the secret {auth.client_secret} is empty")
    return ClientCredentials(
        token_url=auth.token_url,
        client_id=client_id,
        client_secret=client_secret,
        scopes=auth.scopes,
        audience=auth.audience,
        client_auth=auth.client_auth,
        timeout=timeout,
    )
