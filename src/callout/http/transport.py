"""The transport contract: one outbound request in, one response out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class OutboundRequest:
    """A request exactly as it will be sent: the body bytes are the signed bytes."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    timeout: float = 30.0
    client_certificate: str | None = field(default=None, repr=False)
    """PEM text holding a certificate (and its chain) and its private key, presented
    when the server asks for one (mutual TLS); None presents none."""
    follow_redirects: int = 0
    """How many redirects (301, 302, 303, 307, 308) to follow; 0 returns the first answer."""
    origin_bound_headers: frozenset[str] = frozenset()
    """Lower-case names of headers that are dropped when a redirect leaves the origin
    (credentials, the signature), on top of `Authorization` and `Cookie`."""


@dataclass(frozen=True, slots=True)
class InboundResponse:
    """A response as received; `body` is decoded (decompressed) and never over the cap."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    elapsed: float = field(default=0.0, compare=False)
    url: str = ""
    """The URL this response came from: the request's, or the last redirect's target."""

    def header(self, name: str) -> str | None:
        """Return the first value of header `name` (case-insensitive), or None."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None


class Transport(Protocol):
    """Sends one request. Raises the `AttemptError` branches of `callout.model.errors`.

    - `GuardError`: the target address is refused (nothing was sent);
    - `ConnectError`: DNS failure, connection refused or reset;
    - `AttemptTimeout`: `request.timeout` passed (look-up, connect, TLS, send, read);
    - `TLSError`: the certificate did not verify;
    - `ResponseTooLarge`: the decoded body passed the byte cap (reading stopped);
    - `RequestRejected`: the request is not allowed (e.g. plain HTTP when not enabled).
    A non-2xx status is *not* an error here: it is returned as a response.
    """

    async def send(self, request: OutboundRequest) -> InboundResponse:
        """Send `request` and return the response."""
        ...

    async def aclose(self) -> None:
        """Release pooled connections."""
        ...
