"""PostgreSQL's LISTEN/NOTIFY as a wake-up for workers: a hint, never the truth.

The store sends `NOTIFY callout_due` in every transaction that makes a step run
due at once (a new run, the next step, a resume, a release). A worker that
listens looks for work then instead of at its next poll; one that misses a
notification (its connection dropped) still finds the work by polling. A
dropped connection (a restart, a failover) is opened again with the shared
backoff (`callout.store.outage`); once it is back the worker is woken, so work
resumes as soon as the database answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator

import psycopg
import sqlalchemy as sa

from callout.store.database import DatabaseUrl
from callout.store.driver_errors import unavailable
from callout.store.outage import StoreOutage

log = logging.getLogger("callout.store")

DUE_CHANNEL = "callout_due"


async def listen_for_due_work(
    url: DatabaseUrl, wake: Callable[[], None], *, outage: StoreOutage | None = None
) -> None:
    """Call `wake()` on every due-work notification, until cancelled (PostgreSQL only).

    A lost connection is reported to `outage` (one log line for the whole process)
    and opened again after its backoff.
    """
    if url.is_sqlite:
        return
    outage = outage or StoreOutage()
    waits: Iterator[float] | None = None
    dsn = (
        sa.make_url(url.sqlalchemy_url)
        .set(drivername="postgresql")
        .render_as_string(hide_password=False)
    )
    while True:
        try:
            conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
            try:
                await conn.execute(f"LISTEN {DUE_CHANNEL}")
                if waits is not None:
                    outage.reached()
                    waits = None
                wake()  # anything that became due while we were not listening
                async for _ in conn.notifies():
                    wake()
            finally:
                with contextlib.suppress(psycopg.Error):
                    await conn.close()
        except psycopg.Error as exc:
            down = unavailable(exc)
            if down is not None:
                outage.lost(down)
            else:
                log.warning("listening for due work failed (%s); polling meanwhile", exc)
            waits = waits or outage.backoff.waits()
            await asyncio.sleep(next(waits))
