"""`AccountRecords` in memory (unit tests), passing the same contract tests as SQL.

It keeps what the SQL tables keep: keys and session ids only as their SHA-256,
secret values encrypted with the operator's key (so a wrong key is refused
here too), a key's sessions ended when it is revoked.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from callout.model.clock import Clock
from callout.model.ids import new_id
from callout.model.plans import Plan
from callout.store.account_changes import AccountChange, AccountWatcher, AccountWatchers
from callout.store.account_keys import (
    hash_key,
    hash_session_id,
    key_prefix,
    new_api_key,
    new_session_id,
)
from callout.store.account_records import (
    MAX_SESSIONS_PER_KEY,
    ApiKeyInfo,
    Caller,
    NewApiKey,
    NewSession,
    Organization,
    SecretInfo,
    SecretKind,
    SecretValues,
    SessionCheck,
    SessionState,
)
from callout.store.protocol import ConflictError, NotFoundError

if TYPE_CHECKING:
    from callout.store.encryption import SecretCipher


@dataclass(slots=True)
class _Session:
    key_id: str
    org_id: str
    created_at: float
    expires_at: float
    ended_at: float | None = None


@dataclass(frozen=True, slots=True)
class _Secret:
    id: str
    value: str  # encrypted, as in the table
    version: int
    created_at: float
    updated_at: float
    previous_value: str | None = None
    previous_until: float | None = None
    kind: SecretKind = "text"

    def info(self, name: str, now: float) -> SecretInfo:
        until = self.previous_until
        return SecretInfo(
            id=self.id,
            name=name,
            version=self.version,
            created_at=self.created_at,
            updated_at=self.updated_at,
            previous_until=until if until is not None and until > now else None,
            kind=self.kind,
        )


class MemoryAccounts:
    """Organizations, keys, sessions and secrets in memory."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock  # the store's clock; these records take their times from callers
        self._orgs: dict[str, Organization] = {}
        self._keys: dict[str, ApiKeyInfo] = {}
        self._key_ids_by_hash: dict[str, str] = {}
        self._sessions: dict[str, _Session] = {}  # by the SHA-256 of the session id
        self._secrets: dict[tuple[str, str], _Secret] = {}  # by (org id, name)
        self._watchers = AccountWatchers()

    def watch(self, watcher: AccountWatcher) -> None:
        """Tell `watcher` of each key revocation and plan change made through this store."""
        self._watchers.add(watcher)

    # Organizations.

    async def create_organization(
        self, *, name: str, plan: Plan, now: float
    ) -> tuple[Organization, NewApiKey]:
        """Create an organization with its first API key."""
        org = Organization(id=new_id("org", now=now), name=name, plan=plan, created_at=now)
        self._orgs[org.id] = org
        return org, await self.create_api_key(org_id=org.id, name="first key", now=now)

    async def get_organization(self, *, org_id: str) -> Organization:
        """Return one organization. Raises NotFoundError."""
        return self._org(org_id)

    def _org(self, org_id: str) -> Organization:
        if org_id not in self._orgs:
            raise NotFoundError(f"no organization {org_id}")
        return self._orgs[org_id]

    async def list_organizations(self) -> list[Organization]:
        """Return every organization, oldest first."""
        return [self._orgs[org_id] for org_id in sorted(self._orgs)]

    async def set_plan(self, *, org_id: str, plan: Plan, now: float) -> Organization:
        """Move an organization to another plan; watchers are told. Raises NotFoundError."""
        moved = replace(self._org(org_id), plan=plan)
        self._orgs[org_id] = moved
        self._watchers.tell(AccountChange(org_id=org_id))
        return moved

    # API keys.

    async def create_api_key(self, *, org_id: str, name: str, now: float) -> NewApiKey:
        """Make a key for an organization; the key itself is returned this once."""
        self._org(org_id)
        key = new_api_key()
        info = ApiKeyInfo(
            id=new_id("key", now=now),
            org_id=org_id,
            name=name,
            prefix=key_prefix(key),
            created_at=now,
            last_used_at=None,
            revoked_at=None,
        )
        self._keys[info.id] = info
        self._key_ids_by_hash[hash_key(key)] = info.id
        return NewApiKey(info=info, key=key)

    async def list_api_keys(self, *, org_id: str) -> list[ApiKeyInfo]:
        """Return an organization's keys, revoked ones included, oldest first."""
        return [
            self._keys[key_id]
            for key_id in sorted(self._keys)
            if self._keys[key_id].org_id == org_id
        ]

    async def revoke_api_key(
        self, *, key_id: str, now: float, org_id: str | None = None
    ) -> ApiKeyInfo:
        """Revoke a key and end its sessions; watchers are told. Idempotent."""
        info = self._keys.get(key_id)
        if info is None or (org_id is not None and info.org_id != org_id):
            raise NotFoundError(f"no API key {key_id}")
        if info.revoked_at is None:
            info = self._keys[key_id] = replace(info, revoked_at=now)
            for session in self._sessions.values():
                if session.key_id == key_id and session.ended_at is None:
                    session.ended_at = now
        self._watchers.tell(AccountChange(org_id=info.org_id, key_id=key_id))
        return info

    async def caller_for_key(self, *, key: str) -> Caller | None:
        """Return who `key` signs in as, or None for an unknown or revoked key."""
        key_id = self._key_ids_by_hash.get(hash_key(key))
        info = self._keys.get(key_id) if key_id is not None else None
        if info is None or info.revoked_at is not None:
            return None
        return Caller(org=self._orgs[info.org_id], key_id=info.id, last_used_at=info.last_used_at)

    async def mark_key_used(self, *, key_id: str, now: float) -> None:
        """Record that a key was used."""
        if key_id in self._keys:
            self._keys[key_id] = replace(self._keys[key_id], last_used_at=now)

    # Dashboard sessions.

    async def open_session(
        self, *, key_id: str, org_id: str, now: float, lifetime: float
    ) -> NewSession:
        """Open a session for a checked API key, lasting `lifetime` s."""
        self._make_room(key_id=key_id, now=now)
        session_id = new_session_id()
        self._sessions[hash_session_id(session_id)] = _Session(
            key_id=key_id, org_id=org_id, created_at=now, expires_at=now + lifetime
        )
        return NewSession(session_id=session_id, expires_at=now + lifetime)

    def _make_room(self, *, key_id: str, now: float) -> None:
        """Drop expired sessions, and the key's oldest beyond MAX_SESSIONS_PER_KEY - 1."""
        for id_hash in [h for h, s in self._sessions.items() if s.expires_at <= now]:
            del self._sessions[id_hash]
        kept = sorted(
            (h for h, s in self._sessions.items() if s.key_id == key_id),
            # Ended sessions go first: crowding out an open one signs a browser out.
            key=lambda h: (self._sessions[h].ended_at is None, self._sessions[h].created_at),
        )
        for id_hash in kept[: max(0, len(kept) - (MAX_SESSIONS_PER_KEY - 1))]:
            del self._sessions[id_hash]

    async def check_session(self, *, session_id: str, now: float) -> SessionCheck:
        """Return whether a session is open at `now`, and its caller when it is."""
        session = self._sessions.get(hash_session_id(session_id))
        if session is None:
            return SessionCheck(SessionState.UNKNOWN)
        key = self._keys[session.key_id]
        if session.ended_at is not None or key.revoked_at is not None:
            return SessionCheck(SessionState.ENDED)
        if session.expires_at <= now:
            return SessionCheck(SessionState.EXPIRED)
        caller = Caller(
            org=self._orgs[session.org_id], key_id=key.id, last_used_at=key.last_used_at
        )
        return SessionCheck(SessionState.OPEN, caller)

    async def end_session(self, *, session_id: str, now: float) -> bool:
        """End a session; say whether it was open."""
        session = self._sessions.get(hash_session_id(session_id))
        if session is None or session.ended_at is not None:
            return False
        session.ended_at = now
        return True

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
        """Store a new secret of `kind`, encrypted. Raises ConflictError when the name is taken."""
        if (org_id, name) in self._secrets:
            raise ConflictError(f"a secret named {name} exists; rotate it to change its value")
        secret = _Secret(
            id=new_id("sec", now=now),
            value=cipher.encrypt(value, org_id=org_id, name=name),
            version=1,
            created_at=now,
            updated_at=now,
            kind=kind,
        )
        self._secrets[org_id, name] = secret
        return secret.info(name, now)

    def _secret(self, org_id: str, name: str) -> _Secret:
        if (org_id, name) not in self._secrets:
            raise NotFoundError(f"no secret named {name}")
        return self._secrets[org_id, name]

    async def list_secrets(self, *, org_id: str, now: float) -> list[SecretInfo]:
        """Return an organization's secrets by name."""
        return [
            secret.info(name, now)
            for (owner, name), secret in sorted(self._secrets.items())
            if owner == org_id
        ]

    async def get_secret(self, *, org_id: str, name: str, now: float) -> SecretInfo:
        """Return one secret's metadata. Raises NotFoundError."""
        return self._secret(org_id, name).info(name, now)

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
        """Give a secret a new value; the old one keeps signing for `grace` seconds."""
        old = self._secret(org_id, name)
        rotated = replace(
            old,
            value=cipher.encrypt(value, org_id=org_id, name=name),
            previous_value=old.value if grace > 0 else None,
            previous_until=now + grace if grace > 0 else None,
            version=old.version + 1,
            updated_at=now,
        )
        self._secrets[org_id, name] = rotated
        return rotated.info(name, now)

    async def delete_secret(self, *, org_id: str, name: str) -> None:
        """Delete a secret and its previous value. Raises NotFoundError."""
        self._secret(org_id, name)
        del self._secrets[org_id, name]

    async def secret_names(self, *, org_id: str) -> frozenset[str]:
        """Return the names of an organization's secrets."""
        return frozenset(name for owner, name in self._secrets if owner == org_id)

    async def secret_values(self, cipher: SecretCipher, *, org_id: str, now: float) -> SecretValues:
        """Decrypt an organization's secrets (and previous values still in their grace)."""
        current: dict[str, str] = {}
        previous: dict[str, str] = {}
        for (owner, name), secret in self._secrets.items():
            if owner != org_id:
                continue
            current[name] = cipher.decrypt(secret.value, org_id=org_id, name=name)
            if secret.previous_value is not None and (secret.previous_until or 0) > now:
                previous[name] = cipher.decrypt(secret.previous_value, org_id=org_id, name=name)
        return SecretValues(current, previous)
