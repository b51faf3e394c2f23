"""Access tokens a step sends, fetched by callout: the OAuth2 client-credentials grant.

A step holds its client credentials; the engine hands the step a `TokenSource`
that fetches a token through the guarded transport, caches it per organization
and credentials until shortly before it expires (shared by every worker on
PostgreSQL), and fetches anew when the server refused the one it gave.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

ClientAuth = Literal["basic", "body"]
"""How the client id and secret reach the token endpoint: an HTTP Basic header
(RFC 6749 2.3.1, which every server must accept) or form fields in the body."""


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    """One step's resolved OAuth2 client-credentials settings. The secret never prints."""

    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    scopes: tuple[str, ...] = ()
    audience: str | None = None
    client_auth: ClientAuth = "basic"
    timeout: float = 30.0
    """The fetch's own timeout: the step's attempt timeout."""


class TokenSource(Protocol):
    """Gives a step a current access token for its credentials.

    Raises `callout.model.errors.TokenError` (an `AttemptError`) when no token
    could be had; its `retryable` says whether a later attempt may do better.
    """

    async def token(self, credentials: ClientCredentials, *, refused: str | None = None) -> str:
        """Return a current access token.

        `refused` is a token the API answered 401 to: it is not returned again
        (a fresh one is fetched, unless another worker already has).
        """
        ...
