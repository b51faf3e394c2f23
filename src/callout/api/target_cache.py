"""The workflows a trigger starts, read at most once a second per API process.

A trigger needs the workflow (or the workflows listening to an event) and its
live version: the same few rows for every call. They are kept here for at
most `TARGET_CACHE_SECONDS`, so a busy API reads them once a second, not once a
call. Calls that find an entry missing or too old while it is being read wait
for that one read: when an entry aged out under load, each of the calls in
flight read it again, and the reads queued behind one another (every call
arriving in that moment waited tens of milliseconds more). An entry in use is
read again in the background once it is half a second old, so calls find it
fresh and wait for no read at all while triggers keep coming. A publish, archive
or unarchive made through this process forgets the organization's entries at
once, and a read begun before it is used by its callers but not kept; one made
through another process is seen within a second. The idempotency key is then
checked by the write itself (the store's unique key), so a trigger makes one
database round trip: its commit.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from callout.api.shared_reads import SharedReads
from callout.model.clock import Clock
from callout.store.workflow_records import RunTarget, TriggerCall, WorkflowRecords

TARGET_CACHE_SECONDS = 1.0
"""Longest a publish, archive or unarchive in another process goes unseen by triggers here."""

TARGET_REFRESH_AT = 0.5
"""Past this share of its life an entry in use is read again, in the background."""

TARGET_CACHE_SIZE = 10_000
"""Most workflows and events kept; the least recently used go first."""


@dataclass(frozen=True, slots=True)
class _Kept:
    read_at: float
    targets: tuple[RunTarget, ...]


class TargetCache:
    """Trigger targets by workflow and by event, each at most a second old."""

    def __init__(
        self,
        records: WorkflowRecords,
        *,
        clock: Clock,
        seconds: float = TARGET_CACHE_SECONDS,
        size: int = TARGET_CACHE_SIZE,
    ) -> None:
        self._records = records
        self._clock = clock
        self._seconds = seconds
        self._size = size
        self._kept: OrderedDict[tuple[str, str, str], _Kept] = OrderedDict()
        self._reading: SharedReads[tuple[str, str, str], tuple[RunTarget, ...]] = SharedReads()
        # Bumped by every `forget`: a read that began before one is used, never kept.
        self._generation = 0

    def _fresh(self, key: tuple[str, str, str]) -> tuple[RunTarget, ...] | None:
        """Return the entry's targets while they are young enough to use (else forget them)."""
        kept = self._kept.get(key)
        if kept is None:
            return None
        age = self._clock.now() - kept.read_at
        if not 0 <= age < self._seconds:  # old, or read "in the future" (a clock set back)
            del self._kept[key]
            return None
        self._kept.move_to_end(key)
        return kept.targets

    def _ageing(self, key: tuple[str, str, str]) -> bool:
        """Whether a kept entry is past `TARGET_REFRESH_AT` of its life."""
        kept = self._kept.get(key)
        return kept is not None and (
            self._clock.now() - kept.read_at >= self._seconds * TARGET_REFRESH_AT
        )

    def _keep(
        self, key: tuple[str, str, str], read_at: float, targets: tuple[RunTarget, ...]
    ) -> None:
        self._kept[key] = _Kept(read_at, targets)
        self._kept.move_to_end(key)
        while len(self._kept) > self._size:
            self._kept.popitem(last=False)

    async def workflow(self, *, org_id: str, workflow_id: str) -> RunTarget:
        """Return the workflow with its live version. Raises NotFoundError (not kept)."""

        async def read() -> tuple[RunTarget, ...]:
            target = await self._records.trigger_target(
                org_id=org_id, workflow_id=workflow_id, idempotency_key=None
            )
            assert not isinstance(target, TriggerCall)  # noqa: S101 - asked with no key
            return (target,)

        return (await self._kept_or_read((org_id, "workflow", workflow_id), read))[0]

    async def event(self, *, org_id: str, event: str) -> tuple[RunTarget, ...]:
        """Return the published, unarchived workflows listening to `event`."""

        async def read() -> tuple[RunTarget, ...]:
            targets = await self._records.event_targets(
                org_id=org_id, event=event, idempotency_key=None
            )
            assert not isinstance(targets, TriggerCall)  # noqa: S101 - asked with no key
            return tuple(targets)

        return await self._kept_or_read((org_id, "event", event), read)

    async def _kept_or_read(
        self,
        key: tuple[str, str, str],
        read: Callable[[], Awaitable[tuple[RunTarget, ...]]],
    ) -> tuple[RunTarget, ...]:
        found = self._fresh(key)
        if found is not None:
            if key not in self._reading and self._ageing(key):
                # In the background: this call uses what is kept.
                self._reading.start(key, lambda: self._read(key, read))
            return found
        return await self._reading.joined(key, lambda: self._read(key, read))

    async def _read(
        self,
        key: tuple[str, str, str],
        read: Callable[[], Awaitable[tuple[RunTarget, ...]]],
    ) -> tuple[RunTarget, ...]:
        generation = self._generation
        read_at = self._clock.now()
        found = await read()
        if generation == self._generation:
            self._keep(key, read_at, found)
        return found

    def forget(self, org_id: str) -> None:
        """Drop an organization's entries (a publish, archive or unarchive here).

        A read of them in flight is left to its callers; a call from now on reads again.
        """
        self._generation += 1
        for key in [key for key in self._kept if key[0] == org_id]:
            del self._kept[key]
        self._reading.let_go(lambda key: key[0] == org_id)
