"""Who may read `/metrics`: holders of the metrics token, or, without one, this machine alone.

The numbers say how busy the service is and (when the operator opts in) which
hosts it calls: not for the public. With `CALLOUT_METRICS_TOKEN` set, a scrape
must send `Authorization: Bearer <token>` (401 otherwise), from anywhere.
Without it, only loopback clients are answered (403 otherwise); a request that
carries `Forwarded` or `X-Forwarded-For` came through a proxy, so it counts as
remote even when the proxy connects from loopback. The API's `/metrics` and a
worker's `--metrics-port` follow the same rule (docs/metrics.md).
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass

TOKEN_ENV = "CALLOUT_METRICS_TOKEN"  # noqa: S105 - the name of a setting, not its value
"""The setting that holds the token scrapers send."""


@dataclass(frozen=True, slots=True)
class MetricsRefusal:
    """Why a scrape is refused: its HTTP status, an error code and a message (no secret)."""

    status: int
    code: str
    message: str


def is_loopback(host: str | None) -> bool:
    """Whether a client address is this machine's (127.0.0.0/8, ::1, or v4 mapped in v6)."""
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def metrics_refusal(
    *, token: str | None, authorization: str | None, client_host: str | None, proxied: bool
) -> MetricsRefusal | None:
    """Return why a scrape is refused, or None when it may read the numbers."""
    if token:
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), token.encode()
        ):
            return None
        return MetricsRefusal(
            401, "unauthorized", "send the metrics token: Authorization: Bearer <token>"
        )
    if proxied or not is_loopback(client_host):
        return MetricsRefusal(
            403,
            "forbidden",
            f"metrics are answered to this machine only; set {TOKEN_ENV} to scrape from elsewhere",
        )
    return None
