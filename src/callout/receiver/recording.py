"""What the receiver keeps of each request, and its verdict on the signature."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from multidict import CIMultiDictProxy

from callout.model.errors import SignatureError
from callout.signing import DEFAULT_SIGNATURE_HEADER, DEFAULT_TOLERANCE, verify

IDEMPOTENCY_HEADER = "Idempotency-Key"
ATTEMPT_HEADER = "Callout-Attempt"

VerdictState = Literal["ok", "invalid", "missing", "unchecked"]


@dataclass(frozen=True, slots=True)
class SignatureVerdict:
    """Whether a request's signature verified, and why not when it did not."""

    state: VerdictState
    reason: str = ""
    timestamp: int | None = None
    age: float | None = None

    @property
    def ok(self) -> bool:
        """Whether the signature verified."""
        return self.state == "ok"

    def describe(self) -> str:
        """Say it in one line: `signature ok (...)`, `signature INVALID: why`, ..."""
        if self.state == "ok":
            age = math.floor(self.age or 0.0)
            when = f"age {age} s" if age >= 0 else f"{-age} s in the future"
            return f"signature ok (t={self.timestamp}, {when})"
        if self.state == "invalid":
            return f"signature INVALID: {self.reason}"
        if self.state == "missing":
            return f"no signature header ({self.reason})"
        return f"signature not checked ({self.reason})"


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """How the receiver checks signatures: which header, which secrets, what tolerance.

    With no secrets, signatures are shown but not checked.
    """

    secrets: tuple[str, ...] = ()
    header_name: str = DEFAULT_SIGNATURE_HEADER
    tolerance: int = DEFAULT_TOLERANCE

    def __post_init__(self) -> None:
        if any(not secret for secret in self.secrets):
            raise ValueError("a secret must not be empty")
        if self.tolerance < 0:
            raise ValueError("the tolerance must not be negative")

    def check(self, headers: CIMultiDictProxy[str], body: bytes, now: float) -> SignatureVerdict:
        """Verify the request's signature header with any of the secrets."""
        values = headers.getall(self.header_name, [])
        if not values:
            return SignatureVerdict("missing", f"expected {self.header_name}")
        if not self.secrets:
            return SignatureVerdict("unchecked", "the receiver was started without --secret")
        if len(values) > 1:
            return SignatureVerdict(
                "invalid", f"{len(values)} {self.header_name} headers; expected one"
            )
        try:
            timestamp = verify(values[0], body, self.secrets, tolerance=self.tolerance, now=now)
        except SignatureError as exc:
            return SignatureVerdict("invalid", str(exc))
        return SignatureVerdict("ok", timestamp=timestamp, age=now - timestamp)


@dataclass(frozen=True, slots=True)
class ReceivedRequest:
    """One request as the receiver saw it, with its signature verdict and the answer given."""

    received_at: float
    method: str
    path: str
    query_string: str
    headers: CIMultiDictProxy[str]
    body: bytes
    signature: SignatureVerdict
    status: int
    note: str = ""
    delay: float = 0.0
    client_certificate: str | None = None
    """The subject of the client certificate the connection presented (`--client-ca`)."""

    def header(self, name: str) -> str | None:
        """Return the first value of header `name` (any case), or None."""
        return self.headers.get(name)
