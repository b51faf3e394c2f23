"""Dashboard sessions: an API key pasted once opens a server-side session named in a cookie.

The cookie holds only the session's random id and an HMAC of it under the
operator's secret key (`s1.<id>.<hmac>`: a forged or altered cookie is refused
before any database read, and cookie-safe characters need no quoting); the API
key never leaves the sign-in request. The store keeps the session
(`AccountRecords`, only the id's SHA-256) and every request checks it there,
so signing out or revoking the key ends it at once, even for a copy of the
cookie. A session lasts `SESSION_SECONDS` from sign-in.

Requests that change state with a session must also carry the session's CSRF
token (`X-CSRF-Token`, an HMAC of the session id that pages embed) and an
`Origin` that is this server: SameSite=Strict, plus both checks, so no other
site can act with a signed-in browser.

Cookies from before server-side sessions held the API key itself, encrypted
(`v1.<fingerprint>.<base64>`): they are not in this format, so they answer 401
and their browsers are asked to sign in again.
"""

from __future__ import annotations

import hashlib
import hmac

from callout.store.account_records import SessionState
from callout.store.encryption import SecretCipher

SESSION_COOKIE = "callout_session"
CSRF_HEADER = "X-CSRF-Token"
SESSION_SECONDS = 12 * 3600.0
_FORMAT = "s1"

REFUSALS = {
    SessionState.UNKNOWN: "the session is unknown or has expired; sign in again",
    SessionState.ENDED: "the session ended (signed out, or its API key was revoked); sign in again",
    SessionState.EXPIRED: "the session expired; sign in again",
}
"""What a request with a session that is not open is told (401)."""


def _bytes(text: str) -> bytes:
    # Cookies, headers and forms are the sender's: never fail to encode them.
    return text.encode("utf-8", "surrogatepass")


def _seal(cipher: SecretCipher, session_id: str) -> str:
    secret = hashlib.sha256(cipher.key + b"callout session cookie").digest()
    return hmac.new(secret, _bytes(session_id), hashlib.sha256).hexdigest()


def session_cookie(cipher: SecretCipher, session_id: str) -> str:
    """Return the cookie value that names the session `session_id`."""
    return f"{_FORMAT}.{session_id}.{_seal(cipher, session_id)}"


def session_id_of(cipher: SecretCipher, cookie: str) -> str | None:
    """Return the session id a cookie names, or None for a forged, altered or old cookie."""
    version, session_id, seal = [*cookie.split(".", 2), "", ""][:3]
    if version != _FORMAT or not session_id:
        return None
    return session_id if _same(seal, _seal(cipher, session_id)) else None


def csrf_token(cipher: SecretCipher, session_id: str) -> str:
    """Return the CSRF token bound to a session."""
    secret = hashlib.sha256(cipher.key + b"callout csrf").digest()
    return hmac.new(secret, _bytes(session_id), hashlib.sha256).hexdigest()


def csrf_ok(cipher: SecretCipher, session_id: str, token: str | None) -> bool:
    """Say whether `token` is the session's CSRF token (compared in constant time)."""
    return token is not None and _same(token, csrf_token(cipher, session_id))


def _same(given: str, expected: str) -> bool:
    # As bytes: compare_digest refuses str with non-ASCII characters (a hostile header).
    return hmac.compare_digest(_bytes(given), _bytes(expected))
