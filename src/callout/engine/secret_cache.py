"""An organization's decrypted secrets, kept for at most a second per worker process.

Reading and decrypting every secret of the organization at each attempt is a
database read and an AES-GCM pass per attempt; under load, the attempts of one
organization share one read a second. A rotation, a new secret or a deletion
reaches this worker's attempts within `MAX_AGE` seconds (and so always the next
retry: intervals are 1 s at least). Attempts asking at the same moment share
one read; a failed read is not kept.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from callout.store.account_records import OrgSecrets, SecretValues

MAX_AGE = 1.0
"""Seconds a worker keeps an organization's secrets before reading them again."""


@dataclass(slots=True)
class CachedOrgSecrets:
    """`OrgSecrets` read through `inner` at most once a second per organization."""

    inner: OrgSecrets
    max_age: float = MAX_AGE
    monotonic: Callable[[], float] = time.monotonic
    _kept: dict[str, tuple[float, asyncio.Future[SecretValues]]] = field(
        default_factory=dict, repr=False
    )

    async def values(self, org_id: str, *, now: float) -> SecretValues:
        """Return the organization's secret values, read at most `max_age` seconds ago."""
        moment = self.monotonic()
        kept = self._kept.get(org_id)
        if kept is not None and moment - kept[0] < self.max_age:
            return await asyncio.shield(kept[1])
        reading = asyncio.ensure_future(self.inner.values(org_id, now=now))
        self._kept[org_id] = (moment, reading)
        try:
            return await asyncio.shield(reading)
        except BaseException:
            if self._kept.get(org_id, (0.0, None))[1] is reading:
                del self._kept[org_id]  # a failed read is asked again, not remembered
            raise
