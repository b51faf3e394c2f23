"""Who an API key signs in as, remembered for at most a second, so a request need not ask the store.

Every API request names its key; reading it from the database each time
costs a round trip per request. This cache keeps each answer (a caller, or
"unknown or revoked") for `KEY_CACHE_SECONDS` at most, by the key's SHA-256
(never the key itself), in this process only.

What it costs revocation, stated:
- A key revoked or a plan changed through this process (the API's
  `DELETE /v1/api-keys/{id}`, or anything else using the same store object)
  is forgotten at once: the store tells the cache (`AccountRecords.watch`),
  and an answer read before the change is not kept.
- A key revoked in another process (`callout keys revoke`, another API
  process) still signs in here for at most `KEY_CACHE_SECONDS` (1 s); a plan
  changed elsewhere shows within the same second.
- Unknown and revoked keys are remembered too (as long, in their own smaller
  bound), so a client repeating a bad key does not reach the database on each
  request; a flood of distinct bad keys cannot push out the good ones.
- Requests arriving together with the same uncached key share one read. A key
  in use is read again in the background once its answer is half a second old,
  so its requests do not all wait for a read each second; an answer is still
  never used past its second.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Protocol

from callout.api.shared_reads import SharedReads
from callout.model.clock import Clock
from callout.store.account_changes import AccountChange, AccountWatcher
from callout.store.account_keys import hash_key
from callout.store.account_records import LAST_USED_EVERY, Caller

KEY_CACHE_SECONDS = 1.0
"""The longest an answer about a key is used: how long a key revoked elsewhere may still pass."""

REFRESH_AT = 0.5
"""Past this share of its life an answer in use is read again, in the background."""

MAX_KNOWN_KEYS = 10_000
"""Keys that sign someone in, remembered at most (the least recently used go first)."""

MAX_UNKNOWN_KEYS = 1_000
"""Unknown or revoked keys remembered at most, apart from the known ones."""


class KeyRecords(Protocol):
    """What the cache needs of `AccountRecords`: the answer for a key, and word of changes."""

    async def caller_for_key(self, *, key: str) -> Caller | None:
        """Return who `key` signs in as, or None for an unknown or revoked key."""
        ...

    def watch(self, watcher: AccountWatcher) -> None:
        """Tell `watcher` of each key revocation and plan change made through this store."""
        ...


@dataclass(frozen=True, slots=True)
class _Answer:
    caller: Caller | None
    read_at: float


class _Answers:
    """Answers by key hash, at most `limit`, the least recently used dropped first."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._by_hash: OrderedDict[str, _Answer] = OrderedDict()

    def __len__(self) -> int:
        return len(self._by_hash)

    def get(self, key_hash: str) -> _Answer | None:
        found = self._by_hash.get(key_hash)
        if found is not None:
            self._by_hash.move_to_end(key_hash)
        return found

    def put(self, key_hash: str, answer: _Answer) -> None:
        self._by_hash[key_hash] = answer
        self._by_hash.move_to_end(key_hash)
        while len(self._by_hash) > self._limit:
            self._by_hash.popitem(last=False)

    def pop(self, key_hash: str) -> None:
        self._by_hash.pop(key_hash, None)

    def drop_where(self, change: AccountChange) -> None:
        for key_hash, answer in list(self._by_hash.items()):
            caller = answer.caller
            if (
                caller is not None
                and caller.org.id == change.org_id
                and change.key_id in (None, caller.key_id)
            ):
                del self._by_hash[key_hash]


class KeyCache:
    """The callers of API keys, each read from `accounts` at most once a second.

    `clock` ages the answers (tests pass a manual one). The cache watches
    `accounts`, so changes made through the same store reach it at once.
    """

    def __init__(
        self,
        accounts: KeyRecords,
        *,
        clock: Clock,
        lifetime: float = KEY_CACHE_SECONDS,
        max_known: int = MAX_KNOWN_KEYS,
        max_unknown: int = MAX_UNKNOWN_KEYS,
    ) -> None:
        self._accounts = accounts
        self._clock = clock
        self._lifetime = lifetime
        self._known = _Answers(max_known)
        self._unknown = _Answers(max_unknown)
        self._reading: SharedReads[str, Caller | None] = SharedReads()
        # Bumped by every change: a read that began before one is used once, never kept.
        self._generation = 0
        accounts.watch(self)

    def __len__(self) -> int:
        """Return how many answers are kept (known and unknown keys)."""
        return len(self._known) + len(self._unknown)

    async def caller(self, key: str) -> Caller | None:
        """Return who `key` signs in as (None: unknown or revoked), from an answer under 1 s old.

        An answer past half its life is read again in the background while it is
        still used, so a busy key's requests never wait for its next read.
        """
        key_hash = hash_key(key)
        now = self._clock.now()
        for answers in (self._known, self._unknown):
            found = answers.get(key_hash)
            # A clock that went back must not stretch an answer's life.
            if found is not None and found.read_at <= now < found.read_at + self._lifetime:
                if now >= found.read_at + self._lifetime * REFRESH_AT and (
                    key_hash not in self._reading
                ):
                    self._reading.start(key_hash, lambda: self._read(key, key_hash, now))
                return found.caller
        return await self._reading.joined(key_hash, lambda: self._read(key, key_hash, now))

    async def _read(self, key: str, key_hash: str, now: float) -> Caller | None:
        generation = self._generation
        caller = await self._accounts.caller_for_key(key=key)
        if generation == self._generation:
            self._known.pop(key_hash)
            self._unknown.pop(key_hash)
            (self._known if caller is not None else self._unknown).put(
                key_hash, _Answer(caller, now)
            )
        return caller

    def use_is_due(self, key: str, caller: Caller, *, now: float) -> bool:
        """Say whether this use of `key` should be recorded (`LAST_USED_EVERY`), noting it if so.

        The answer kept for the key is updated at once, so requests arriving
        together record one use, not one each.
        """
        key_hash = hash_key(key)
        kept = self._known.get(key_hash)
        latest = kept.caller if kept is not None and kept.caller is not None else caller
        if latest.last_used_at is not None and now - latest.last_used_at < LAST_USED_EVERY:
            return False
        if kept is not None and kept.caller is not None:
            self._known.put(key_hash, replace(kept, caller=replace(kept.caller, last_used_at=now)))
        return True

    def account_changed(self, change: AccountChange) -> None:
        """Forget the answers `change` makes stale: a revoked key's, or a whole organization's."""
        self._generation += 1
        self._known.drop_where(change)
        # Reads in flight began before the change: their answers are used once, never kept.
        self._reading.let_go()
