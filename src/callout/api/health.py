"""`/healthz`: the service is up, and whether it reaches the dependency it cannot work without.

Cheap enough to be polled every few milliseconds (load balancers, the loop-lag
probe): the database is asked at most once every `CHECK_EVERY` seconds, with
`SELECT 1` on a thread and connection of its own (`SqlStore.ping`), and given
`CHECK_WITHIN` seconds to answer; in between, the last answer is reused.
"""

from __future__ import annotations

import time
from typing import Literal

from pydantic import BaseModel

from callout.store.protocol import StoreUnavailable
from callout.store.service import ServiceStore

CHECK_EVERY = 1.0
"""Seconds an answer about the database is reused before the database is asked again."""

CHECK_WITHIN = 1.0
"""Seconds the database has to answer the check before it counts as unavailable."""


class Health(BaseModel):
    """The service is up; `database` says whether it reaches its database (else 503, degraded)."""

    status: Literal["ok", "degraded"]
    database: Literal["ok", "unavailable"]


class DatabaseHealth:
    """Whether the database answers, asked at most once every `every` seconds."""

    def __init__(
        self, store: ServiceStore, *, every: float = CHECK_EVERY, within: float = CHECK_WITHIN
    ) -> None:
        self._store = store
        self._every = every
        self._within = within
        self._checked_at: float | None = None
        self._answered = False

    async def health(self) -> Health:
        """Return the service's health, asking the database if the last answer is stale."""
        if self._checked_at is None or time.monotonic() - self._checked_at >= self._every:
            try:
                await self._store.ping(within=self._within)
            except StoreUnavailable:
                self._answered = False
            else:
                self._answered = True
            self._checked_at = time.monotonic()
        if self._answered:
            return Health(status="ok", database="ok")
        return Health(status="degraded", database="unavailable")
