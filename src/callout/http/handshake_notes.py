"""Whether the server asked for a client certificate, and what a failed exchange then means.

A server that requires a client certificate and gets none (or refuses the
one sent) may say so with a TLS alert (`certificate_required` from OpenSSL,
Go, rustls or Java servers; `unknown_ca`, `bad_certificate`... for a refused
one), or just drop the connection (Python's asyncio servers do, and so
`callout receiver --client-ca`). An alert names itself; a dropped connection
says nothing, and the only sure sign that the server asked is its
CertificateRequest handshake message.

Python's `ssl` shows handshake messages only through `SSLContext._msg_callback`,
a debugging hook (private, present since Python 3.8). Where it exists the
transport watches for that one message type, on the contexts it builds: the
hook sees message types only, and nothing of the message is kept. Each
exchange notes what its own connection's handshake said in a context
variable: asyncio (and uvloop) run a connection's TLS callbacks in a copy of
the context of the task that opened it, so concurrent requests never see
each other's notes. Without the hook, alerts are still read; a dropped
connection stays a connection error.
"""

from __future__ import annotations

import ssl
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# TLS record content type 22 (handshake) and handshake message type 13
# (CertificateRequest), as RFC 8446 and RFC 5246 number them.
_HANDSHAKE = 22
_CERTIFICATE_REQUEST = 13

ASK_FOR_ONE = "set client_certificate to a stored certificate secret"

# Alerts a server sends about the client's certificate (OpenSSL's reason names).
_REQUIRED = "TLSV13_ALERT_CERTIFICATE_REQUIRED"
_REFUSED = frozenset(
    {
        "SSLV3_ALERT_BAD_CERTIFICATE",
        "SSLV3_ALERT_CERTIFICATE_EXPIRED",
        "SSLV3_ALERT_CERTIFICATE_REVOKED",
        "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
        "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE",
        "TLSV1_ALERT_ACCESS_DENIED",
        "TLSV1_ALERT_DECRYPT_ERROR",
        "TLSV1_ALERT_UNKNOWN_CA",
    }
)
# TLS 1.2 servers often answer a missing certificate with a bare handshake_failure.
_HANDSHAKE_FAILURE = "SSLV3_ALERT_HANDSHAKE_FAILURE"


@dataclass(slots=True)
class HandshakeNotes:
    """What one connection's handshake showed: whether the server asked for a certificate."""

    certificate_requested: bool = False


_NOTES: ContextVar[HandshakeNotes | None] = ContextVar("callout_handshake_notes", default=None)


def watch_handshakes(context: ssl.SSLContext) -> bool:
    """Make `context` note CertificateRequest messages; say whether this Python allows it."""
    if not hasattr(ssl.SSLContext, "_msg_callback"):
        return False
    # OpenSSL calls the hook for every TLS record read or written, not only handshakes.
    # `ssl.SSLContext`'s setter wraps it in a function that turns each number into an
    # enum member (2% of a worker's time); the C slot underneath takes the hook as it
    # is, called with plain numbers, which is all `_on_message` compares.
    raw_slot: Any = getattr(super(ssl.SSLContext, ssl.SSLContext), "_msg_callback", None)
    if hasattr(raw_slot, "__set__"):
        raw_slot.__set__(context, _on_message)
    else:
        # A private attribute: mypy does not know it, and setattr says it is deliberate.
        setattr(context, "_msg_callback", _on_message)  # noqa: B010
    return True


def _on_message(
    _connection: Any,
    direction: str,
    _version: Any,
    content_type: int,
    message_type: int,
    _data: bytes,
) -> None:
    # Runs inside OpenSSL's read; it must never raise.
    if direction == "read" and content_type == _HANDSHAKE and message_type == _CERTIFICATE_REQUEST:
        notes = _NOTES.get()
        if notes is not None:
            notes.certificate_requested = True


# `SSLContext._msg_callback` reads back the hook through the wrapper's `user_function`.
_on_message.user_function = _on_message  # type: ignore[attr-defined]


class noting_handshakes:  # noqa: N801 - used as a function: `with noting_handshakes() as notes`
    """Collect what the handshakes of connections opened inside the block show.

    A class, not `contextlib.contextmanager`: it is entered for every exchange, and a
    generator's context manager cost three times as much.
    """

    __slots__ = ("_notes", "_token")

    def __enter__(self) -> HandshakeNotes:
        self._notes = HandshakeNotes()
        self._token = _NOTES.set(self._notes)
        return self._notes

    def __exit__(self, *_exc: object) -> None:
        _NOTES.reset(self._token)


def ssl_reason(exc: BaseException) -> str | None:
    """Return OpenSSL's reason (e.g. `TLSV1_ALERT_UNKNOWN_CA`) found in `exc` or its causes."""
    seen: BaseException | None = exc
    for _ in range(6):
        if seen is None:
            return None
        # aiohttp's certificate error is an SSLError without a `reason`.
        for candidate in (seen, getattr(seen, "os_error", None)):
            reason = getattr(candidate, "reason", None)
            if isinstance(candidate, ssl.SSLError) and isinstance(reason, str) and reason:
                return reason
        seen = seen.__cause__ or seen.__context__
    return None


def client_certificate_refusal(
    reason: str | None,
    *,
    where: str,
    requested: bool,
    presented: bool,
    expired_on: datetime | None = None,
) -> str | None:
    """Say what a failed handshake or exchange means for the client certificate, if anything.

    `reason` is the TLS error's reason (None for a dropped connection),
    `requested` whether the server asked for a certificate, `presented`
    whether one was sent, `expired_on` its expiry when it has passed. None: the
    failure is not about a client certificate.
    """
    if reason == _REQUIRED:
        about_certificate = True
    elif requested:
        about_certificate = reason is None or reason in _REFUSED or reason == _HANDSHAKE_FAILURE
    else:
        about_certificate = presented and reason in _REFUSED
    if not about_certificate:
        return None
    if not presented:
        return f"{where} asked for a client certificate and the step sets none: {ASK_FOR_ONE}"
    why = _alert_words(reason) if reason else "it closed the connection once it had the certificate"
    message = f"{where} refused the client certificate ({why})"
    if expired_on is not None:
        message += f"; the certificate expired on {expired_on:%Y-%m-%d}"
    return message


def _alert_words(reason: str) -> str:
    _, _, alert = reason.partition("_ALERT_")
    return f"TLS alert: {(alert or reason).lower().replace('_', ' ')}"
