"""Turning a host name into the addresses to connect to."""

from __future__ import annotations

import asyncio
import socket
from typing import Protocol

from callout.model.errors import ConnectError


class Resolver(Protocol):
    """Looks a host name up. The transport asks once per new connection, never twice."""

    async def resolve(self, host: str, port: int) -> list[str]:
        """Return the addresses of `host` as IP strings, in the order to try them.

        Raises `ConnectError` when the look-up fails or finds no address.
        """
        ...


class SystemResolver:
    """The operating system's resolver (`getaddrinfo`), run off the event loop."""

    async def resolve(self, host: str, port: int) -> list[str]:
        """Look `host` up through `loop.getaddrinfo`, keeping the system's order."""
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(
                host,
                port,
                type=socket.SOCK_STREAM,
                # Leave out IPv6 answers on a host with no IPv6 address, as
                # browsers do: connecting to them could only fail.
                flags=socket.AI_ADDRCONFIG,
            )
        except (OSError, UnicodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise ConnectError(f"could not resolve {host}: {reason}") from exc
        addresses: list[str] = []
        for _family, _type, _proto, _canonname, sockaddr in infos:
            address = str(sockaddr[0])
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            raise ConnectError(f"could not resolve {host}: the look-up returned no address")
        return addresses
