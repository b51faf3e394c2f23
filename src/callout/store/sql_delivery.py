"""`DeliveryRecords` on SQLite or PostgreSQL (through `SqlStore`'s threads).

The SQL is in `delivery_sql.py`. Admissions are batched: the tickets that
arrive while a batch is being decided go together in the next one, which holds
each host's row once for all of its tickets. A batch is group-committed with the
worker's claims and results (`SqlStore.write_unsynced`, in its own savepoint):
a transaction of its own per admission cost more than the rest of the attempt,
and its statements per ticket a third of the throughput (docs/benchmarks.md).
Limit changes and resuming a host are service writes (group-committed too).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from callout.store import delivery_sql
from callout.store.delivery import Admission, AdmitTicket, HostLimit, HostState
from callout.store.protocol import NotFoundError

if TYPE_CHECKING:
    from callout.store.sql_store import SqlStore


class SqlDelivery:
    """Per-host limits, breaker states and admissions in the SQL store."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store
        self._batches = AdmissionBatches(store)

    async def host_limits(self, *, org_id: str) -> list[HostLimit]:
        """Return an organization's limit rows, by host."""
        return await self._store.read(delivery_sql.list_host_limits, org_id=org_id)

    async def set_host_limit(self, limit: HostLimit) -> HostLimit:
        """Create or replace the limit row of `limit.host`, stamped with the database's time."""
        return await self._store.write(delivery_sql.set_host_limit, limit)

    async def delete_host_limit(self, *, org_id: str, host: str) -> None:
        """Remove a host's limit row; NotFoundError when it has none."""
        await self._store.write(delivery_sql.delete_host_limit, org_id=org_id, host=host)

    async def host_states(self, *, org_id: str) -> list[HostState]:
        """Return every host with a breaker state, slots or waiting step runs, by host."""
        return await self._store.read(delivery_sql.host_states, org_id=org_id)

    async def troubled_hosts(self, *, org_id: str) -> dict[str, HostState]:
        """Return the hosts whose breaker is not closed or that have failures counted."""
        return await self._store.read(delivery_sql.troubled_hosts, org_id=org_id)

    async def admit(self, ticket: AdmitTicket) -> Admission:
        """Decide, in one transaction holding the host's row, whether the attempt may go."""
        return await self._batches.admit(ticket)

    async def give_back(self, *, org_id: str, host: str, slot_ids: tuple[str, ...]) -> None:
        """Release slots a worker's reserve held and make as many step runs waiting due now."""
        await self._store.write_unsynced(
            delivery_sql.give_back, org_id=org_id, host=host, slot_ids=slot_ids
        )

    async def resume_host(self, *, org_id: str, host: str) -> HostState:
        """Close a host's breaker now and make the step runs waiting for it due at once."""
        return await self._store.write(delivery_sql.resume_host, org_id=org_id, host=host)

    async def paused_hosts(self) -> list[HostState]:
        """Return the hosts of every organization whose breaker is open or half open."""
        return await self._store.read(delivery_sql.paused_hosts)


_Waiting = tuple[AdmitTicket, "asyncio.Future[Admission]"]


class AdmissionBatches:
    """Admissions of one process, decided in batches: one in the database at a time.

    No ticket waits for a batch to fill: the first goes at once, and those that
    come while it is decided go together as soon as it is done.
    """

    def __init__(self, store: SqlStore) -> None:
        self._store = store
        self._waiting: list[_Waiting] = []
        self._deciding: asyncio.Task[None] | None = None

    async def admit(self, ticket: AdmitTicket) -> Admission:
        """Return the database's answer to `ticket`, decided in the next batch."""
        loop = asyncio.get_running_loop()
        deciding = self._deciding
        if deciding is not None and deciding.get_loop() is not loop:
            # The loop it ran on was closed under it: what waited there waits no more.
            deciding, self._waiting = None, []
        future: asyncio.Future[Admission] = loop.create_future()
        self._waiting.append((ticket, future))
        if deciding is None or deciding.done():
            self._deciding = loop.create_task(self._decide())
        return await future

    async def _decide(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                await self._decide_batch(batch)
            finally:
                # Cancelled mid-batch (the loop shutting down): no caller waits forever.
                for _, future in batch:
                    if not future.done():
                        future.cancel()

    async def _decide_batch(self, batch: list[_Waiting]) -> None:
        tickets = [ticket for ticket, _ in batch]
        try:
            answers = await self._store.write_unsynced(delivery_sql.admit_many, tickets)
        except Exception as failure:  # noqa: BLE001 - every ticket of the batch is told
            for _, future in batch:
                if not future.done():
                    future.set_exception(failure)
            return
        for (_, future), answer in zip(batch, answers, strict=True):
            if future.done():
                continue  # its caller went away; a slot it took expires by itself
            if isinstance(answer, NotFoundError):
                future.set_exception(answer)
            else:
                future.set_result(answer)
