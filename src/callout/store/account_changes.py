"""Changes to who an API key signs in as, told at once to watchers in the same process.

A key revoked or an organization's plan changed through a store is told to
whatever watches that store (the API's key cache), right after the change is
durable, so this process never acts on the old answer. Other processes learn
of it by reading the database again (the key cache keeps an answer at most a
second).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class AccountChange:
    """A key revoked (`key_id` set), or an organization's plan changed (`key_id` None)."""

    org_id: str
    key_id: str | None = None


class AccountWatcher(Protocol):
    """Something that keeps answers about keys and must drop them when they change."""

    def account_changed(self, change: AccountChange) -> None:
        """Forget what `change` makes stale."""
        ...


class AccountWatchers:
    """The watchers of one store, held weakly: a watcher that is gone stops being told."""

    def __init__(self) -> None:
        self._watchers: weakref.WeakSet[AccountWatcher] = weakref.WeakSet()

    def add(self, watcher: AccountWatcher) -> None:
        """Tell `watcher` of every change from now on, while it lives."""
        self._watchers.add(watcher)

    def tell(self, change: AccountChange) -> None:
        """Tell every watcher of `change`."""
        for watcher in list(self._watchers):
            watcher.account_changed(change)
