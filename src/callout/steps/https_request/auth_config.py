"""The step's `auth` field: Basic, Bearer, or an OAuth2 client-credentials token.

Every credential comes from a stored secret (`{{ secrets.name }}`); only a Basic
user name may be literal text (Stripe's key is the user name, with no password).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from callout.model.document import type_name, unknown_keys
from callout.model.errors import Problem
from callout.steps.https_request.headers_config import check_header_value
from callout.steps.https_request.secret_reference import check_secret_reference
from callout.steps.tokens import ClientAuth
from callout.templates import ReferenceRules, check_text, parse_template

AUTH_TYPES = ("basic", "bearer", "oauth2_client_credentials")
CLIENT_AUTHS: tuple[ClientAuth, ...] = ("basic", "body")
MAX_SCOPES = 50
MAX_TOKEN_URL_LENGTH = 2048
MAX_AUTH_TEXT_LENGTH = 4096

SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
"""RFC 6749 3.3: a scope token is printable ASCII but space, `"` and `\\`."""


@dataclass(frozen=True, slots=True)
class BasicAuth:
    """`Authorization: Basic base64(username:password)`; templates, resolved at each attempt."""

    username: str
    password: str | None = None
    """One secret reference; None sends an empty password."""


@dataclass(frozen=True, slots=True)
class BearerAuth:
    """`Authorization: Bearer <token>`; the token is one secret reference."""

    token: str


@dataclass(frozen=True, slots=True)
class OAuth2Auth:
    """An OAuth2 client-credentials grant; the access token is sent as a Bearer token."""

    token_url: str
    client_id: str
    client_secret: str
    scopes: tuple[str, ...] = ()
    audience: str | None = None
    client_auth: ClientAuth = "basic"


Auth = BasicAuth | BearerAuth | OAuth2Auth

_FIELDS: Mapping[str, tuple[str, ...]] = {
    "basic": ("type", "username", "password"),
    "bearer": ("type", "token"),
    "oauth2_client_credentials": (
        "type",
        "token_url",
        "client_id",
        "client_secret",
        "scopes",
        "audience",
        "client_auth",
    ),
}


def _has_reference(text: str) -> bool:
    return "{{" in text or "}}" in text


def _check_username(raw: Any, path: str, rules: ReferenceRules) -> list[Problem]:
    if not isinstance(raw, str) or not raw:
        return [
            Problem(
                path,
                "is required: the user name (text, or a reference such as "
                "{{ secrets.stripe_key }})",
            )
        ]
    if len(raw) > MAX_AUTH_TEXT_LENGTH:
        return [Problem(path, f"is longer than {MAX_AUTH_TEXT_LENGTH} characters")]
    if (why := check_header_value(raw)) is not None:
        return [Problem(path, why)]
    found = check_text(raw, path, rules)
    if found:
        return found
    literal = "".join(part for part in parse_template(raw).parts if isinstance(part, str))
    if ":" in literal:
        return [
            Problem(path, 'must not contain ":" (Basic separates the user name from the password)')
        ]
    return []


def _check_basic(
    raw: Mapping[str, Any], path: str, rules: ReferenceRules
) -> tuple[Auth, list[Problem]]:
    problems = _check_username(raw.get("username"), f"{path}.username", rules)
    password: str | None = None
    if raw.get("password") is not None:
        password, found = check_secret_reference(
            raw["password"], f"{path}.password", rules, example="stripe_pw"
        )
        problems += found
    return BasicAuth(username=raw.get("username") or "", password=password), problems


def _check_bearer(
    raw: Mapping[str, Any], path: str, rules: ReferenceRules
) -> tuple[Auth, list[Problem]]:
    token, problems = check_secret_reference(
        raw.get("token"), f"{path}.token", rules, example="crm_token"
    )
    return BearerAuth(token=token or ""), problems


def _check_token_url(raw: Any, path: str, *, allow_http: bool) -> list[Problem]:
    if not isinstance(raw, str) or not raw:
        return [Problem(path, "is required: the https:// address of the token endpoint")]
    if _has_reference(raw):
        return [Problem(path, "is a literal URL; it cannot hold a reference")]
    if len(raw) > MAX_TOKEN_URL_LENGTH:
        return [Problem(path, f"is longer than {MAX_TOKEN_URL_LENGTH} characters")]
    schemes = ("https", "http") if allow_http else ("https",)
    scheme, sep, _ = raw.partition("://")
    if not sep or scheme.lower() not in schemes:
        allowed = "https:// (or http:// where the operator allows it)" if allow_http else "https://"
        return [Problem(path, f"must start with {allowed}")]
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in raw):
        return [Problem(path, "must not contain spaces or control characters")]
    try:
        parts = urlsplit(raw)
    except ValueError:  # a broken [IPv6] host
        return [Problem(path, "is not a valid URL")]
    if not parts.hostname:
        return [Problem(path, "has no host name")]
    if parts.username is not None or parts.password is not None:
        return [Problem(path, "must not carry credentials (user:password@)")]
    try:
        _ = parts.port
    except ValueError:
        return [Problem(path, "has an invalid port")]
    return []


def _check_client_id(raw: Any, path: str, rules: ReferenceRules) -> list[Problem]:
    if not isinstance(raw, str) or not raw:
        return [Problem(path, "is required: the client id (text, or a reference)")]
    if len(raw) > MAX_AUTH_TEXT_LENGTH:
        return [Problem(path, f"is longer than {MAX_AUTH_TEXT_LENGTH} characters")]
    if (why := check_header_value(raw)) is not None:
        return [Problem(path, why)]
    return check_text(raw, path, rules)


def _check_scopes(raw: Any, path: str) -> tuple[tuple[str, ...], list[Problem]]:
    if raw is None:
        return (), []
    if not isinstance(raw, list):
        return (), [Problem(path, f"must be a list of scopes, not {type_name(raw)}")]
    if len(raw) > MAX_SCOPES:
        return (), [Problem(path, f"has {len(raw)} scopes; at most {MAX_SCOPES}")]
    problems: list[Problem] = []
    for index, scope in enumerate(raw):
        here = f"{path}[{index}]"
        if not isinstance(scope, str):
            problems.append(Problem(here, f"must be a string, not {type_name(scope)}"))
        elif _has_reference(scope):
            problems.append(Problem(here, "is a literal scope; it cannot hold a reference"))
        elif SCOPE_TOKEN.fullmatch(scope) is None:
            problems.append(
                Problem(here, 'must be one scope: printable ASCII without spaces, " or \\')
            )
    return (tuple(raw) if not problems else ()), problems


def _check_audience(raw: Any, path: str) -> list[Problem]:
    if raw is None:
        return []
    if not isinstance(raw, str):
        return [Problem(path, f"must be text, not {type_name(raw)}")]
    if not raw:
        return [Problem(path, "must not be empty (leave it out for no audience)")]
    if _has_reference(raw):
        return [Problem(path, "is literal text; it cannot hold a reference")]
    if len(raw) > MAX_AUTH_TEXT_LENGTH:
        return [Problem(path, f"is longer than {MAX_AUTH_TEXT_LENGTH} characters")]
    if (why := check_header_value(raw)) is not None:
        return [Problem(path, why)]
    return []


def _check_oauth2(
    raw: Mapping[str, Any], path: str, rules: ReferenceRules, *, allow_http: bool
) -> tuple[Auth, list[Problem]]:
    problems = _check_token_url(raw.get("token_url"), f"{path}.token_url", allow_http=allow_http)
    problems += _check_client_id(raw.get("client_id"), f"{path}.client_id", rules)
    secret, found = check_secret_reference(
        raw.get("client_secret"), f"{path}.client_secret", rules, example="oauth_secret"
    )
    problems += found
    scopes, found = _check_scopes(raw.get("scopes"), f"{path}.scopes")
    problems += found
    problems += _check_audience(raw.get("audience"), f"{path}.audience")
    client_auth: ClientAuth = "basic"
    given = raw.get("client_auth", "basic")
    for known in CLIENT_AUTHS:
        if given == known:
            client_auth = known
            break
    else:
        problems.append(Problem(f"{path}.client_auth", "must be basic or body"))
    auth = OAuth2Auth(
        token_url=raw.get("token_url") or "",
        client_id=raw.get("client_id") or "",
        client_secret=secret or "",
        scopes=scopes,
        audience=raw.get("audience"),
        client_auth=client_auth,
    )
    return auth, problems


def check_auth(
    raw: Any, path: str, rules: ReferenceRules, *, allow_http: bool
) -> tuple[Auth | None, list[Problem]]:
    """Check `auth`; return it (None when absent or invalid) and every problem."""
    if raw is None:
        return None, []
    if not isinstance(raw, dict):
        return None, [Problem(path, f"must be an object with a type ({', '.join(AUTH_TYPES)})")]
    kind = raw.get("type")
    if kind not in AUTH_TYPES:
        return None, [Problem(f"{path}.type", f"must be one of {', '.join(AUTH_TYPES)}")]
    problems = unknown_keys(raw, _FIELDS[kind], path)
    auth: Auth
    if kind == "basic":
        auth, found = _check_basic(raw, path, rules)
    elif kind == "bearer":
        auth, found = _check_bearer(raw, path, rules)
    else:
        auth, found = _check_oauth2(raw, path, rules, allow_http=allow_http)
    problems += found
    return (auth if not problems else None), problems


def auth_templates(auth: Auth | None) -> list[str]:
    """Return every template an `auth` holds (for the secrets it references)."""
    if isinstance(auth, BasicAuth):
        return [auth.username, *([auth.password] if auth.password else [])]
    if isinstance(auth, BearerAuth):
        return [auth.token]
    if isinstance(auth, OAuth2Auth):
        return [auth.client_id, auth.client_secret]
    return []
