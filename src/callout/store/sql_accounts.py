"""`AccountRecords` on SQLite or PostgreSQL (through `SqlStore`'s threads and group commit).

Each method is one transaction running a function of `organizations.py`,
`sessions.py` or `secrets.py`; writes share commits with other service writes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from callout.model.plans import Plan
from callout.store import organizations, secrets, sessions
from callout.store.account_changes import AccountChange, AccountWatcher, AccountWatchers
from callout.store.account_records import (
    ApiKeyInfo,
    Caller,
    NewApiKey,
    NewSession,
    Organization,
    SecretInfo,
    SecretKind,
    SecretValues,
    SessionCheck,
)

if TYPE_CHECKING:
    from callout.store.encryption import SecretCipher
    from callout.store.sql_store import SqlStore


class SqlAccounts:
    """Organizations, keys, sessions and secrets in the SQL store."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store
        self._watchers = AccountWatchers()

    def watch(self, watcher: AccountWatcher) -> None:
        """Tell `watcher` of each key revocation and plan change made through this store."""
        self._watchers.add(watcher)

    async def create_organization(
        self, *, name: str, plan: Plan, now: float
    ) -> tuple[Organization, NewApiKey]:
        """Create an organization with its first API key."""
        return await self._store.write(
            organizations.create_organization, name=name, plan=plan, now=now
        )

    async def get_organization(self, *, org_id: str) -> Organization:
        """Return one organization. Raises NotFoundError."""
        return await self._store.read(organizations.get_organization, org_id=org_id)

    async def list_organizations(self) -> list[Organization]:
        """Return every organization, oldest first."""
        return await self._store.read(organizations.list_organizations)

    async def set_plan(self, *, org_id: str, plan: Plan, now: float) -> Organization:
        """Move an organization to another plan; watchers are told. Raises NotFoundError."""
        moved = await self._store.write(organizations.set_plan, org_id=org_id, plan=plan, now=now)
        self._watchers.tell(AccountChange(org_id=org_id))
        return moved

    async def create_api_key(self, *, org_id: str, name: str, now: float) -> NewApiKey:
        """Make a key for an organization; the key itself is returned this once."""
        return await self._store.write(
            organizations.create_api_key, org_id=org_id, name=name, now=now
        )

    async def list_api_keys(self, *, org_id: str) -> list[ApiKeyInfo]:
        """Return an organization's keys, revoked ones included, oldest first."""
        return await self._store.read(organizations.list_api_keys, org_id=org_id)

    async def revoke_api_key(
        self, *, key_id: str, now: float, org_id: str | None = None
    ) -> ApiKeyInfo:
        """Revoke a key and end its sessions; watchers are told. Idempotent."""
        info = await self._store.write(
            organizations.revoke_api_key, key_id=key_id, now=now, org_id=org_id
        )
        self._watchers.tell(AccountChange(org_id=info.org_id, key_id=info.id))
        return info

    async def caller_for_key(self, *, key: str) -> Caller | None:
        """Return who `key` signs in as, or None for an unknown or revoked key."""
        return await self._store.read(organizations.caller_for_key, key=key)

    async def mark_key_used(self, *, key_id: str, now: float) -> None:
        """Record that a key was used."""
        await self._store.write(organizations.mark_key_used, key_id=key_id, now=now)

    async def open_session(
        self, *, key_id: str, org_id: str, now: float, lifetime: float
    ) -> NewSession:
        """Open a session for a checked API key, lasting `lifetime` s."""
        return await self._store.write(
            sessions.open_session, key_id=key_id, org_id=org_id, now=now, lifetime=lifetime
        )

    async def check_session(self, *, session_id: str, now: float) -> SessionCheck:
        """Return whether a session is open at `now`, and its caller when it is."""
        return await self._store.read(sessions.check_session, session_id=session_id, now=now)

    async def end_session(self, *, session_id: str, now: float) -> bool:
        """End a session; say whether it was open."""
        return await self._store.write(sessions.end_session, session_id=session_id, now=now)

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
        return await self._store.write(
            secrets.create_secret,
            cipher,
            org_id=org_id,
            name=name,
            value=value,
            now=now,
            kind=kind,
        )

    async def list_secrets(self, *, org_id: str, now: float) -> list[SecretInfo]:
        """Return an organization's secrets by name."""
        return await self._store.read(secrets.list_secrets, org_id=org_id, now=now)

    async def get_secret(self, *, org_id: str, name: str, now: float) -> SecretInfo:
        """Return one secret's metadata. Raises NotFoundError."""
        return await self._store.read(secrets.get_secret, org_id=org_id, name=name, now=now)

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
        return await self._store.write(
            secrets.rotate_secret,
            cipher,
            org_id=org_id,
            name=name,
            value=value,
            grace=grace,
            now=now,
        )

    async def delete_secret(self, *, org_id: str, name: str) -> None:
        """Delete a secret and its previous value. Raises NotFoundError."""
        await self._store.write(secrets.delete_secret, org_id=org_id, name=name)

    async def secret_names(self, *, org_id: str) -> frozenset[str]:
        """Return the names of an organization's secrets."""
        return await self._store.read(secrets.secret_names, org_id=org_id)

    async def secret_values(self, cipher: SecretCipher, *, org_id: str, now: float) -> SecretValues:
        """Decrypt an organization's secrets (and previous values still in their grace)."""
        return await self._store.read(secrets.secret_values, cipher, org_id=org_id, now=now)
