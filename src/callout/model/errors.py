"""The error tree of callout.

```
CalloutError
├── DocumentError          a workflow document or trigger payload is invalid; a Problem per fault
├── ResolveError           a {{ }} reference has no value at run time
├── SignatureError         a signature header does not verify
├── SecretMissingError     a referenced secret has no value in this process
├── PlanError              the organization's plan lacks an action (engine/plan_gate.py)
├── SecretKeyError         the operator's secret key is missing or wrong (store/encryption.py)
├── StoreError             the store refused or failed (the rest in store/protocol.py)
│   ├── LeaseLostError     another worker took the lease over; the result is not recorded
│   ├── StoreUnavailable   the database cannot be reached now (an outage: wait, then retry)
│   ├── NotFoundError      no record has that id (in the organization asking)
│   │   └── UnknownRunError
│   ├── ConflictError      the change conflicts with the record's state
│   │   └── RunStateError
│   └── SchemaTooNewError  the database was upgraded by a newer callout (store/schema.py)
└── AttemptError           one attempt of a step did not succeed
    ├── RequestRejected    the resolved request broke a rule (CR/LF in a header, not HTTPS...)
    │   └── ResolvedTooLarge   a resolved body, URL or header passed its size limit
    ├── GuardError         the address guard refused the target (nothing was sent)
    ├── TransportError     the exchange itself failed
    │   ├── ConnectError       DNS failure, refused or reset connection (retryable)
    │   ├── AttemptTimeout     the attempt's timeout passed (retryable)
    │   ├── TLSError           certificate verification failed (final)
    │   ├── ClientCertificateError  the server wants a client certificate the step lacks,
    │   │                      or refused the one given, or it cannot be loaded (final)
    │   └── ResponseTooLarge   the response passed the byte cap (final)
    ├── TokenError         no OAuth2 access token could be had for the step
    ├── StatusError        the server answered with a non-2xx status
    ├── SchemaMismatch     the response body failed the response schema (final)
    ├── ResponseTooDeep    the response's JSON nests deeper than callout reads (final)
    └── ResponseUncheckable  the body is over the size response_schema is checked at (final)
```

Every message is written so that it can be shown to a user as is: no secret
value ever goes into one.
"""

from __future__ import annotations

from dataclasses import dataclass


class CalloutError(Exception):
    """The root of every error callout raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One fault in a document, at a path such as `steps[1].headers[0].value`."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class DocumentError(CalloutError):
    """A document is invalid; `problems` lists every fault at once."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ResolveError(CalloutError):
    """A reference could not be resolved; the message names it and what was there."""

    def __init__(self, reference: str, message: str) -> None:
        self.reference = reference
        super().__init__(f"{{{{ {reference} }}}}: {message}")


class SignatureError(CalloutError):
    """A signature header did not verify (wrong secret, changed body, stale time)."""


class SecretMissingError(CalloutError):
    """A secret the workflow references has no value where the run executes."""

    def __init__(self, names: list[str]) -> None:
        self.names = tuple(sorted(names))
        listed = ", ".join(self.names)
        super().__init__(
            f"missing secret(s): {listed} (give --secret NAME=VALUE or set CALLOUT_SECRET_<NAME>)"
        )


class StoreError(CalloutError):
    """The store failed or refused a write."""


class AttemptError(CalloutError):
    """One attempt did not succeed. `retryable` says whether another attempt may help."""

    retryable: bool = False
    kind: str = "attempt_error"


class RequestRejected(AttemptError):
    """The request, once its references were resolved, broke a rule; nothing was sent."""

    kind = "request_rejected"


class ResolvedTooLarge(RequestRejected):
    """A resolved body, URL or header value passed its size limit; resolution stopped there."""

    kind = "request_too_large"


class GuardError(AttemptError):
    """The address guard refused the target before any packet left."""

    kind = "address_refused"


class TransportError(AttemptError):
    """The exchange with the server failed below HTTP."""

    kind = "transport_error"


class ConnectError(TransportError):
    """The host did not resolve, or the connection was refused or broken."""

    retryable = True
    kind = "connection_error"


class AttemptTimeout(TransportError):
    """The attempt's timeout passed (look-up, connect, TLS, send and read together)."""

    retryable = True
    kind = "timeout"


class TLSError(TransportError):
    """The server's certificate did not verify."""

    kind = "tls_error"


class ClientCertificateError(TransportError):
    """Mutual TLS failed.

    The server asked for a client certificate and the step sets none, or it refused
    the one sent, or the stored certificate cannot be loaded.
    """

    kind = "client_certificate_error"


class ResponseTooLarge(TransportError):
    """The response body passed the byte cap; reading stopped there."""

    kind = "response_too_large"


class TokenError(AttemptError):
    """No OAuth2 access token could be had.

    The token endpoint failed, refused the credentials, or answered something that is
    not a token. `retryable` follows the cause (a timeout or a 5xx may pass; refused
    credentials will not).
    """

    kind = "oauth2_token_error"

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class StatusError(AttemptError):
    """The server answered with a status that is not 2xx."""

    kind = "http_status"

    def __init__(self, message: str, *, status: int, retryable: bool) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable


class SchemaMismatch(AttemptError):
    """The response body does not match the step's response schema."""

    kind = "schema_mismatch"


class ResponseTooDeep(AttemptError):
    """A 2xx response's JSON nests deeper than callout reads JSON (`MAX_JSON_DEPTH`)."""

    kind = "response_too_deep"


class ResponseUncheckable(AttemptError):
    """A 2xx response is over the size up to which callout parses it: its schema is unchecked."""

    kind = "response_too_large_to_check"
