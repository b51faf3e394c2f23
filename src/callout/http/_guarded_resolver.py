"""The bridge that makes aiohttp connect only to addresses the guard has checked.

aiohttp asks its resolver for the addresses of a host and connects to exactly
what it gets back. Answering with the addresses we looked up and checked
ourselves, with aiohttp's DNS cache off, means one look-up per new
connection and no second resolution an attacker's DNS server could answer
differently (DNS rebinding).
"""

from __future__ import annotations

import socket
from ipaddress import IPv4Address

from aiohttp.abc import AbstractResolver, ResolveResult

from callout.http.guard import AddressGuard
from callout.http.literal import IPAddress, parse_ip_literal
from callout.http.resolver import Resolver
from callout.model.errors import ConnectError, GuardError

# The answers are addresses, so the socket layer must not try to look them up.
_NUMERIC = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV


class GuardedResolver(AbstractResolver):
    """An aiohttp resolver: look the host up once, check every address, return them all.

    If any address is refused the whole look-up is refused: a name that points
    at an internal address is hostile even if it also points at a public one.
    """

    def __init__(self, resolver: Resolver, guard: AddressGuard) -> None:
        self._resolver = resolver
        self._guard = guard

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> list[ResolveResult]:
        """Return the checked addresses of `host`; raise `GuardError` or `ConnectError`."""
        answers = await self._resolver.resolve(host, port)
        if not answers:
            raise ConnectError(f"could not resolve {host}: the look-up returned no address")
        addresses = [_address(host, answer) for answer in answers]
        for address in addresses:
            self._guard.check_address(address, host=host)
        return [
            ResolveResult(
                hostname=host,
                host=str(address),
                port=port,
                family=socket.AF_INET if isinstance(address, IPv4Address) else socket.AF_INET6,
                proto=socket.IPPROTO_TCP,
                flags=_NUMERIC,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        """Nothing to release: the wrapped resolver holds no connection."""


def _address(host: str, answer: str) -> IPAddress:
    # Fail closed: an answer that is not a plain address is never connected to.
    try:
        address = parse_ip_literal(answer)
    except ValueError:
        address = None
    if address is None:
        raise GuardError(
            f"{host} resolves to {answer!r}, which is not an IP address; "
            "refused by the address guard"
        )
    return address
