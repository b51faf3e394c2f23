"""API keys and dashboard session ids: random, shown once, kept only as their SHA-256.

Both are 256 random bits, so a plain SHA-256 (not a slow password hash) is
enough to make a stolen database useless for signing in, and lets each request
find its key or session by one indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "callout_"
"""What every API key starts with (so scanners and people can tell one when they see it)."""

SESSION_ID_BYTES = 32
"""Random bytes in a session id (as URL-safe base64 in the cookie)."""


def new_api_key() -> str:
    """Return a fresh API key: the prefix and 256 random bits."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_prefix(key: str) -> str:
    """Return the first characters of a key, which may be shown to tell keys apart."""
    return key[: len(KEY_PREFIX) + 4]


def hash_key(key: str) -> str:
    """Return how a key is stored (hex SHA-256)."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_session_id() -> str:
    """Return a fresh session id (the cookie names it; the store keeps its hash)."""
    return secrets.token_urlsafe(SESSION_ID_BYTES)


def hash_session_id(session_id: str) -> str:
    """Return how a session id is stored (hex SHA-256)."""
    return hashlib.sha256(session_id.encode()).hexdigest()
