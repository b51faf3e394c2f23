"""The address guard: only globally routable public addresses are reached by default.

Every URL is typed by a customer while the engine runs inside the operator's
network, so an unguarded request is a way in (SSRF). The guard refuses the
networks below, and anything else Python does not call globally routable.
Addresses that carry an IPv4 address inside them (IPv4-mapped, NAT64, 6to4)
are judged by that IPv4 address, since that is where the packets end up.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network

from callout.http.literal import IPAddress, parse_ip_literal
from callout.model.errors import GuardError

Network = IPv4Network | IPv6Network

# The refused table of reference/security.md, plus four IPv6 ranges Python's
# `is_global` lets through although they reach no public host (marked +).
# Order matters only for the message: the narrowest, best-known name first.
REFUSED_NETWORKS: tuple[tuple[Network, str], ...] = tuple(
    (ip_network(cidr), reason)
    for cidr, reason in (
        ("0.0.0.0/8", "this network"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "carrier-grade NAT"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local, where cloud metadata services live"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "IETF protocol assignments"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "6to4 relay anycast"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("255.255.255.255/32", "broadcast"),
        ("240.0.0.0/4", "reserved"),
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("::/96", "IPv4-compatible, deprecated"),  # +
        ("::ffff:0:0:0/96", "IPv4-translated"),  # +
        ("100::/64", "discard-only"),  # +
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local, deprecated"),  # +
        ("fc00::/7", "unique local"),
        ("ff00::/8", "multicast"),
        ("2001:db8::/32", "documentation"),
        ("2001::/32", "Teredo"),
    )
)

# Ranges whose addresses embed an IPv4 address in their low 32 bits (the
# /96 layout of RFC 6052 for NAT64), and 6to4 which embeds it in bits 16-47.
_IPV4_MAPPED = IPv6Network("::ffff:0:0/96")
_NAT64 = (IPv6Network("64:ff9b::/96"), IPv6Network("64:ff9b:1::/48"))
_SIX_TO_FOUR = IPv6Network("2002::/16")
_MAPPED = "IPv4-mapped"

_HINT = "refused by the address guard; an operator can allow it with CALLOUT_ALLOWED_NETWORKS"


class AddressGuard:
    """Decides whether an address may be connected to.

    `allowed_networks` are the operator's exceptions (`CALLOUT_ALLOWED_NETWORKS`):
    each opens exactly its own CIDR. Opening `127.0.0.1/32` opens neither
    `127.0.0.2`, nor `::1`, nor `10.0.0.0/8`.
    """

    __slots__ = ("_allowed",)

    def __init__(self, allowed_networks: Iterable[Network] = ()) -> None:
        self._allowed = tuple(allowed_networks)

    @property
    def allowed_networks(self) -> tuple[Network, ...]:
        """The networks the operator opened."""
        return self._allowed

    def check_address(self, ip: IPAddress | str, *, host: str | None = None) -> None:
        """Raise `GuardError` unless `ip` may be connected to.

        A string is read in any spelling `parse_ip_literal` accepts; one that is
        not an address at all is refused (the guard fails closed). `host`, the
        name `ip` was looked up for, goes into the message when given.
        """
        address = _as_address(ip)
        why = self._why_refused(address)
        if why is None:
            return
        subject = f"{host} resolves to {address}, which" if host else str(address)
        raise GuardError(f"{subject} {why}, {_HINT}")

    def refusal(self, ip: IPAddress) -> str | None:
        """Say why `ip` is refused (`"127.0.0.1 is in 127.0.0.0/8 (loopback)"`), or None."""
        why = self._why_refused(ip)
        return None if why is None else f"{ip} {why}"

    def _why_refused(self, ip: IPAddress) -> str | None:
        if self._is_allowed(ip):
            return None
        if isinstance(ip, IPv6Address):
            embedded = _embedded_ipv4(ip)
            if embedded is not None:
                inner, kind = embedded
                # An IPv4-mapped address is the IPv4 host itself (the socket
                # connects over IPv4), so the operator's openings apply to it.
                # NAT64 and 6to4 reach the IPv4 address through a translator
                # or relay, another machine's view of the network: opening
                # 127.0.0.1/32 must not open the translator's own loopback.
                inner_why = self._why_refused(inner) if kind == _MAPPED else _why_not_public(inner)
                if inner_why is None:
                    return None
                return f"embeds {inner} ({kind}), which {inner_why}"
        return _why_not_public(ip)

    def _is_allowed(self, ip: IPAddress) -> bool:
        return any(ip.version == net.version and ip in net for net in self._allowed)


def _why_not_public(ip: IPAddress) -> str | None:
    for network, name in REFUSED_NETWORKS:
        if ip.version == network.version and ip in network:
            return f"is in {network} ({name})"
    if not ip.is_global:
        return "is not a globally routable address"
    return None


def _as_address(ip: IPAddress | str) -> IPAddress:
    if isinstance(ip, IPv4Address | IPv6Address):
        return ip
    try:
        address = parse_ip_literal(ip)
    except ValueError as exc:
        raise GuardError(f"{exc}; refused by the address guard") from None
    if address is None:
        raise GuardError(f"{ip!r} is not an IP address; refused by the address guard")
    return address


def _embedded_ipv4(ip: IPv6Address) -> tuple[IPv4Address, str] | None:
    if ip in _IPV4_MAPPED:
        return IPv4Address(int(ip) & 0xFFFFFFFF), _MAPPED
    if any(ip in network for network in _NAT64):
        return IPv4Address(int(ip) & 0xFFFFFFFF), "NAT64"
    if ip in _SIX_TO_FOUR:
        return IPv4Address((int(ip) >> 80) & 0xFFFFFFFF), "6to4"
    return None
