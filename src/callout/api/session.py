"""Dashboard sessions: the API key pasted once, kept in an encrypted, HttpOnly cookie.

The cookie holds the key encrypted under the operator's secret key (so it is
useless if copied off a disk without that key) with the time it was issued;
it expires after `SESSION_SECONDS`. Requests that change state with a session
must also carry the session's CSRF token (`X-CSRF-Token`, an HMAC of the cookie
that pages embed) and an `Origin` that is this server: SameSite=Strict, plus
both checks, so no other site can act with a signed-in browser.
"""

from __future__ import annotations

import hashlib
import hmac

from callout.store.encryption import SecretCipher, SecretKeyError

SESSION_COOKIE = "callout_session"
CSRF_HEADER = "X-CSRF-Token"
SESSION_SECONDS = 12 * 3600.0
_AAD_ORG = "dashboard"
_AAD_NAME = "session"


def open_session_value(cipher: SecretCipher, api_key: str, *, now: float) -> str:
    """Return the cookie value for a session signed in with `api_key`."""
    return cipher.encrypt(f"{int(now)}:{api_key}", org_id=_AAD_ORG, name=_AAD_NAME)


def session_key(cipher: SecretCipher, cookie: str, *, now: float) -> str | None:
    """Return the API key a session cookie holds, or None when invalid or expired."""
    try:
        plain = cipher.decrypt(cookie, org_id=_AAD_ORG, name=_AAD_NAME)
    except (SecretKeyError, ValueError):
        return None
    issued, _, key = plain.partition(":")
    if not issued.isdigit() or not key or now - int(issued) > SESSION_SECONDS:
        return None
    return key


def csrf_token(cipher: SecretCipher, cookie: str) -> str:
    """Return the CSRF token bound to a session cookie."""
    secret = hashlib.sha256(cipher.key + b"callout csrf").digest()
    return hmac.new(secret, cookie.encode(), hashlib.sha256).hexdigest()


def csrf_ok(cipher: SecretCipher, cookie: str, token: str | None) -> bool:
    """Say whether `token` is the session's CSRF token (compared in constant time)."""
    return token is not None and hmac.compare_digest(csrf_token(cipher, cookie), token)
