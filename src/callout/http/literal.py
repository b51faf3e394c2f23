"""Reading an IP address written as a URL host, in every spelling a resolver accepts.

`inet_aton` (and so `getaddrinfo` and every client built on it) reads
`127.1`, `0x7f.1`, `017700000001` and `2130706433` as 127.0.0.1. A guard that
only recognises dotted-quad decimal would take those for host names and miss
them, so hosts are read here the way the WHATWG URL standard reads them: a
host whose last label is a number is an IPv4 address or an error, never a name.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv6Address

IPAddress = IPv4Address | IPv6Address

_DECIMAL = re.compile(r"[0-9]+")
_HEX = re.compile(r"0[xX][0-9a-fA-F]*")
_OCTAL = re.compile(r"0[0-7]+")


def parse_ip_literal(host: str) -> IPAddress | None:
    """Return the address `host` spells, or None when `host` is a name to resolve.

    IPv6 may come with or without brackets; IPv4 may be written in decimal,
    hex or octal, in one to four parts (`127.1`, `0x7f.0.0.1`, `2130706433`).
    Raises `ValueError` when `host` looks like an address but is not a valid
    one (`1.2.3.4.5`, `256.0.0.1`, `08.0.0.1`, a zone id such as `fe80::1%eth0`):
    such a host must not be handed to a resolver to interpret.
    """
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:
        return _parse_ipv6(text)
    labels = text.split(".")
    if len(labels) > 1 and labels[-1] == "":
        # A trailing dot ends a fully qualified name; "127.0.0.1." is still 127.0.0.1.
        labels.pop()
    if not _is_number(labels[-1]):
        return None
    return IPv4Address(_ipv4_value(labels, host))


def _parse_ipv6(text: str) -> IPv6Address:
    if "%" in text:
        # A zone id picks a local interface; no outbound API needs one.
        raise ValueError(f"{text} carries a zone id, which is not allowed")
    try:
        return IPv6Address(text)
    except ValueError:
        raise ValueError(f"{text} is not a valid IPv6 address") from None


def _is_number(label: str) -> bool:
    return bool(_DECIMAL.fullmatch(label) or _HEX.fullmatch(label))


def _ipv4_value(labels: list[str], host: str) -> int:
    if len(labels) > 4:
        raise ValueError(f"{host} is not a valid IPv4 address (more than four parts)")
    parts = [_ipv4_part(label, host) for label in labels]
    *leading, last = parts
    if any(part > 0xFF for part in leading):
        raise ValueError(f"{host} is not a valid IPv4 address (a part is over 255)")
    # The last part fills every byte the earlier parts left: in `127.1` the
    # `1` is the low three bytes, in `2130706433` all four.
    last_bytes = 5 - len(parts)
    if last >= 1 << (8 * last_bytes):
        raise ValueError(f"{host} is not a valid IPv4 address (a part is too large)")
    value = 0
    for part in leading:
        value = (value << 8) | part
    return (value << (8 * last_bytes)) | last


def _ipv4_part(label: str, host: str) -> int:
    if _HEX.fullmatch(label):
        # WHATWG reads a bare "0x" as 0.
        return int(label[2:] or "0", 16)
    if _OCTAL.fullmatch(label):
        return int(label[1:], 8)
    if _DECIMAL.fullmatch(label) and not (len(label) > 1 and label.startswith("0")):
        return int(label)
    raise ValueError(f"{host} is not a valid IPv4 address ({label!r} is not a number)")
