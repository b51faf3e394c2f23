"""What the service asks of a store about organizations, API keys, dashboard sessions and secrets.

The API, the dashboard and the engine work through `AccountRecords` (no SQL
here): `SqlAccounts` keeps the records in SQLite or PostgreSQL, `MemoryAccounts`
in memory, and both pass the same contract tests
(tests/integration/service_store). Times are passed in (`now`), as the API's
clock tells them.

- API keys and session ids are kept only as their SHA-256 (`account_keys.py`);
  a key is shown once, when it is made.
- Revoking a key ends the dashboard sessions it opened, and a session of a
  revoked key is refused regardless.
- Secret values are stored encrypted with the operator's key (`encryption.py`)
  and never returned by value, except to a run's attempt (`secret_values`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Literal, Protocol

from callout.model.plans import Plan

if TYPE_CHECKING:
    from callout.store.account_changes import AccountWatcher
    from callout.store.encryption import SecretCipher

LAST_USED_EVERY = 60.0
"""Seconds between updates of a key's `last_used_at` (not a write per request)."""

MAX_SESSIONS_PER_KEY = 50
"""Sessions one API key keeps; signing in once more drops its oldest (ended ones first)."""

DEFAULT_ROTATION_GRACE = 24 * 3600.0
"""Seconds a rotated secret's previous value keeps signing, unless the rotation says."""

MAX_ROTATION_GRACE = 7 * 24 * 3600.0
"""The longest grace a rotation may ask for."""

SecretKind = Literal["text", "certificate"]
"""`text`: any value. `certificate`: PEM text of a client certificate and its key (mTLS)."""

SECRET_KINDS: tuple[SecretKind, ...] = ("text", "certificate")


@dataclass(frozen=True, slots=True)
class Organization:
    """An organization: every workflow, secret and run belongs to one."""

    id: str
    name: str
    plan: Plan
    created_at: float


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """What may be shown of an API key: its id, name and first characters."""

    id: str
    org_id: str
    name: str
    prefix: str
    created_at: float
    last_used_at: float | None
    revoked_at: float | None


@dataclass(frozen=True, slots=True)
class NewApiKey:
    """A key just made: `key` is shown this once and never again."""

    info: ApiKeyInfo
    key: str

    def __repr__(self) -> str:
        return f"NewApiKey(info={self.info!r}, key=[hidden])"


@dataclass(frozen=True, slots=True)
class Caller:
    """Who a request comes from: an organization, through one of its keys."""

    org: Organization
    key_id: str
    last_used_at: float | None


class SessionState(StrEnum):
    """What the store knows of the session a cookie names."""

    OPEN = "open"
    UNKNOWN = "unknown"  # never opened, or removed after it expired or was crowded out
    ENDED = "ended"  # signed out, or its API key was revoked
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class NewSession:
    """A session just opened: `session_id` goes into the cookie and is not stored."""

    session_id: str = field(repr=False)
    expires_at: float


@dataclass(frozen=True, slots=True)
class SessionCheck:
    """The state of a session and, while it is open, who it acts as."""

    state: SessionState
    caller: Caller | None = None


@dataclass(frozen=True, slots=True)
class SecretInfo:
    """What may be shown of a secret: never its value."""

    id: str
    name: str
    version: int
    created_at: float
    updated_at: float
    previous_until: float | None
    kind: SecretKind = "text"
    """What the value is; a rotation keeps it."""


@dataclass(frozen=True, slots=True)
class SecretValues:
    """An organization's secret values for one attempt (never logged, never stored resolved)."""

    current: Mapping[str, str] = field(default_factory=dict, repr=False)
    previous: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        return f"SecretValues(names={sorted(self.current)!r}, values hidden)"


class OrgSecrets(Protocol):
    """Where a worker reads an organization's secrets at each attempt."""

    async def values(self, org_id: str, *, now: float) -> SecretValues:
        """Return the organization's secret values, with those still in a rotation's grace."""
        ...


class AccountRecords(Protocol):
    """Organizations, their API keys, dashboard sessions and secrets, by intent.

    Raises `NotFoundError` for an id or name the organization does not have, and
    `ConflictError` for a secret name already taken (both from `store.protocol`).
    """

    # Organizations.

    async def create_organization(
        self, *, name: str, plan: Plan, now: float
    ) -> tuple[Organization, NewApiKey]:
        """Create an organization with its first API key (named "first key")."""
        ...

    async def get_organization(self, *, org_id: str) -> Organization:
        """Return one organization."""
        ...

    async def list_organizations(self) -> list[Organization]:
        """Return every organization, oldest first."""
        ...

    async def set_plan(self, *, org_id: str, plan: Plan, now: float) -> Organization:
        """Move an organization to another plan (watchers are told)."""
        ...

    # API keys.

    async def create_api_key(self, *, org_id: str, name: str, now: float) -> NewApiKey:
        """Make a key for an organization; the key itself is returned this once."""
        ...

    async def list_api_keys(self, *, org_id: str) -> list[ApiKeyInfo]:
        """Return an organization's keys, revoked ones included, oldest first."""
        ...

    async def revoke_api_key(
        self, *, key_id: str, now: float, org_id: str | None = None
    ) -> ApiKeyInfo:
        """Revoke a key (of `org_id` when given) and end its sessions; idempotent.

        Watchers are told once the revocation is durable.
        """
        ...

    async def caller_for_key(self, *, key: str) -> Caller | None:
        """Return who `key` signs in as, or None for an unknown or revoked key."""
        ...

    async def mark_key_used(self, *, key_id: str, now: float) -> None:
        """Record that a key was used (callers do this at most every LAST_USED_EVERY s)."""
        ...

    def watch(self, watcher: AccountWatcher) -> None:
        """Tell `watcher` of each key revocation and plan change made through this store."""
        ...

    # Dashboard sessions.

    async def open_session(
        self, *, key_id: str, org_id: str, now: float, lifetime: float
    ) -> NewSession:
        """Open a session for a checked API key, lasting `lifetime` s.

        Expired sessions (of every key) are removed, and the key keeps at most
        MAX_SESSIONS_PER_KEY: its oldest go, ended ones first.
        """
        ...

    async def check_session(self, *, session_id: str, now: float) -> SessionCheck:
        """Return whether a session is open at `now`, and its caller when it is."""
        ...

    async def end_session(self, *, session_id: str, now: float) -> bool:
        """End a session (sign-out); say whether it was open. Idempotent."""
        ...

    # Secrets.

    async def create_secret(  # noqa: PLR0913 - each is a distinct fact of the secret
        self,
        cipher: SecretCipher,
        *,
        org_id: str,
        name: str,
        value: str,
        now: float,
        kind: SecretKind = "text",
    ) -> SecretInfo:
        """Store a new secret of `kind`, encrypted; ConflictError when the name is taken.

        The store keeps the kind; checking that a certificate's value is one is the
        caller's (the API reads the PEM before storing it).
        """
        ...

    async def list_secrets(self, *, org_id: str, now: float) -> list[SecretInfo]:
        """Return an organization's secrets (metadata only), by name."""
        ...

    async def get_secret(self, *, org_id: str, name: str, now: float) -> SecretInfo:
        """Return one secret's metadata."""
        ...

    async def rotate_secret(  # noqa: PLR0913 - each is a distinct fact of the rotation
        self,
        cipher: SecretCipher,
        *,
        org_id: str,
        name: str,
        value: str,
        grace: float,
        now: float,
    ) -> SecretInfo:
        """Give a secret a new value of its kind; the old one signs for `grace` seconds."""
        ...

    async def delete_secret(self, *, org_id: str, name: str) -> None:
        """Delete a secret and its previous value."""
        ...

    async def secret_names(self, *, org_id: str) -> frozenset[str]:
        """Return the names of an organization's secrets."""
        ...

    async def secret_values(self, cipher: SecretCipher, *, org_id: str, now: float) -> SecretValues:
        """Decrypt an organization's secrets (and previous values still in their grace)."""
        ...


class HoldsAccounts(Protocol):
    """A store with account records (`SqlStore`, `MemoryStore`)."""

    @property
    def accounts(self) -> AccountRecords:
        """Organizations, API keys, dashboard sessions, secrets."""
        ...


@dataclass(frozen=True, slots=True)
class StoredOrgSecrets:
    """`OrgSecrets` read from the store and decrypted with the operator's key."""

    store: HoldsAccounts
    cipher: SecretCipher

    async def values(self, org_id: str, *, now: float) -> SecretValues:
        """Return the organization's secret values, read afresh for each attempt."""
        return await self.store.accounts.secret_values(self.cipher, org_id=org_id, now=now)
