"""The operator's settings for outbound requests, read from the environment."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path

DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024

Network = IPv4Network | IPv6Network


@dataclass(frozen=True, slots=True)
class TransportConfig:
    """What the outbound transport may do: which networks, which CAs, how many bytes.

    The defaults are the safe ones: HTTPS only, only globally routable public
    addresses, the system's trusted CAs, and a 10 MiB cap on a decoded body.
    """

    allow_http: bool = False
    allowed_networks: tuple[Network, ...] = ()
    ca_bundle: Path | None = None
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES

    def __post_init__(self) -> None:
        if self.max_response_bytes <= 0:
            raise ValueError(
                f"max_response_bytes must be a positive number of bytes, "
                f"not {self.max_response_bytes}"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> TransportConfig:
        """Read the operator's settings from the environment.

        `CALLOUT_ALLOW_HTTP` (`1` allows plain HTTP), `CALLOUT_ALLOWED_NETWORKS`
        (CIDRs separated by commas or spaces), `CALLOUT_CA_BUNDLE` (an existing
        PEM file of extra trusted CAs), `CALLOUT_MAX_RESPONSE_BYTES` (> 0).
        A missing or empty variable keeps its default. A bad value raises
        `ValueError` naming the variable and what is wrong with it, so a
        misconfigured worker stops at start-up instead of running unguarded.
        """
        return cls(
            allow_http=_allow_http(environ.get("CALLOUT_ALLOW_HTTP", "")),
            allowed_networks=_allowed_networks(environ.get("CALLOUT_ALLOWED_NETWORKS", "")),
            ca_bundle=_ca_bundle(environ.get("CALLOUT_CA_BUNDLE", "")),
            max_response_bytes=_max_response_bytes(environ.get("CALLOUT_MAX_RESPONSE_BYTES", "")),
        )


def allow_http_from(environ: Mapping[str, str] = os.environ) -> bool:
    """Read `CALLOUT_ALLOW_HTTP` alone (`ValueError` when it is neither 1 nor 0)."""
    return _allow_http(environ.get("CALLOUT_ALLOW_HTTP", ""))


def _allow_http(raw: str) -> bool:
    value = raw.strip()
    if value in ("", "0"):
        return False
    if value == "1":
        return True
    # Anything else ("true", "yes") is refused rather than guessed: this switch
    # lowers security, so it must be turned on deliberately.
    raise ValueError(f"CALLOUT_ALLOW_HTTP must be 1 (allow plain HTTP) or 0, not {raw!r}")


def _allowed_networks(raw: str) -> tuple[Network, ...]:
    networks: list[Network] = []
    for item in re.split(r"[\s,]+", raw.strip()):
        if not item:
            continue
        try:
            # strict=True: "10.1.2.3/8" is most likely a typo for a narrower
            # network; silently widening it to 10.0.0.0/8 would open too much.
            network = ip_network(item, strict=True)
        except ValueError as exc:
            raise ValueError(
                f"CALLOUT_ALLOWED_NETWORKS: {item!r} is not a network in CIDR form "
                f"such as 10.1.2.0/24 or 127.0.0.1/32 ({exc})"
            ) from None
        if network not in networks:
            networks.append(network)
    return tuple(networks)


def _ca_bundle(raw: str) -> Path | None:
    value = raw.strip()
    if not value:
        return None
    path = Path(value)
    if not path.is_file():
        raise ValueError(f"CALLOUT_CA_BUNDLE: {value} is not an existing PEM file")
    return path


def _max_response_bytes(raw: str) -> int:
    value = raw.strip()
    if not value:
        return DEFAULT_MAX_RESPONSE_BYTES
    try:
        number = int(value)
    except ValueError:
        raise ValueError(
            f"CALLOUT_MAX_RESPONSE_BYTES must be a whole number of bytes, not {raw!r}"
        ) from None
    if number <= 0:
        raise ValueError(f"CALLOUT_MAX_RESPONSE_BYTES must be greater than 0, not {number}")
    return number
