"""How the receiver shows what it gets: one block per request, never a secret."""

from __future__ import annotations

import ipaddress
import shlex
import unicodedata
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from callout.model.redaction import Redactor
from callout.receiver.certificates import CA_FILE
from callout.receiver.recording import ATTEMPT_HEADER, IDEMPOTENCY_HEADER, ReceivedRequest

if TYPE_CHECKING:
    from callout.receiver.running import RunningReceiver

BODY_SHOWN = 500  # characters of a body shown; the recorded request keeps every byte


def printable(text: str) -> str:
    """Escape control characters, so a request cannot move the cursor or fake a line."""
    return "".join(
        ch if unicodedata.category(ch)[0] != "C" else ch.encode("unicode_escape").decode()
        for ch in text
    )


def body_preview(body: bytes, *, redactor: Redactor | None = None, limit: int = BODY_SHOWN) -> str:
    """Return the body as text for a terminal: secrets hidden, cut at `limit` characters."""
    if not body:
        return "(empty)"
    text = body.decode("utf-8", errors="replace")
    if redactor is not None:
        text = redactor.text(text)
    shown = printable(text[:limit])
    if len(text) > limit:
        shown += f"... ({len(body)} bytes in all)"
    return shown


def format_request(
    received: ReceivedRequest, *, signature_header: str, hide: Iterable[str] = ()
) -> str:
    """Return the lines that show one request: time, route, key headers, body, verdict.

    Every value in `hide` (the receiver's secrets) is replaced by `[redacted]`.
    """
    redactor = Redactor(hide)

    def show(text: str) -> str:
        return printable(redactor.text(text))

    clock = datetime.fromtimestamp(received.received_at, tz=UTC).strftime("%H:%M:%S.%f")[:-3]
    target = received.path + (f"?{received.query_string}" if received.query_string else "")
    answer = f"-> {received.status}"
    if received.note:
        answer += f" ({received.note})"
    lines = [f"{clock}Z  {received.method} {show(target)}  {answer}"]
    for name in (IDEMPOTENCY_HEADER, ATTEMPT_HEADER, signature_header):
        value = received.header(name)
        if value is not None:
            lines.append(f"  {name}: {show(value)}")
    if received.client_certificate is not None:
        lines.append(f"  client certificate: {show(received.client_certificate)}")
    lines.append(f"  body: {body_preview(received.body, redactor=redactor)}")
    lines.append(f"  {show(received.signature.describe())}")
    return "\n".join(lines)


def format_startup(running: RunningReceiver) -> str:
    """Return what the receiver prints once it listens: where, which CA, which settings."""
    settings = running.settings
    lines = [f"callout receiver listening on {running.url}"]
    if running.ca_path is not None:
        generated = running.certificates.generated
        how = "generated now" if CA_FILE in generated else "reused"
        if generated and CA_FILE not in generated:
            how = "reused; server certificate renewed"
        lines.append(f"  CA certificate: {running.ca_path.resolve()} ({how})")
    else:
        lines.append(f"  certificate: {running.certificates.cert_path} (trust its issuer)")
    env = " ".join(f"{name}={shlex.quote(value)}" for name, value in running.client_env().items())
    lines.append(f"  to reach it, run callout with: {env}")
    if not _is_loopback(running.host):
        lines.append(
            f"  warning: {running.host} is reachable beyond this machine; "
            "the generated certificate covers localhost, 127.0.0.1 and ::1 only"
        )
    if running.client_ca is not None:
        lines.append(
            f"  client certificates: required, issued by a CA in {running.client_ca.resolve()}"
        )
    signatures = settings.signatures
    count = len(signatures.secrets)
    if count:
        secrets = f"{count} secret{'s' if count != 1 else ''}"
        lines.append(
            f"  signatures: {signatures.header_name} checked with {secrets}, "
            f"tolerance {signatures.tolerance} s"
        )
    else:
        lines.append("  signatures: not checked (no --secret given)")
    default = settings.default
    wait = f" after {default.delay:g} s" if default.delay else ""
    lines.append(f"  default answer: {default.status}{wait}")
    lines.append("  routes: /status/<code>  /delay/<seconds>  /flaky/<n>/...  /echo")
    lines.append("  Ctrl-C stops it")
    return "\n".join(lines)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
