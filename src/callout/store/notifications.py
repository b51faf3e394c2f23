"""PostgreSQL's LISTEN/NOTIFY as a wake-up for workers: a hint, never the truth.

The store sends `NOTIFY callout_due` in every transaction that makes a step run
due at once (a new run, the next step, a resume, a release). A worker that
listens looks for work then instead of at its next poll; one that misses a
notification (its connection dropped) still finds the work by polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import psycopg
import sqlalchemy as sa

from callout.store.database import DatabaseUrl

log = logging.getLogger("callout.store")

DUE_CHANNEL = "callout_due"
RECONNECT_AFTER = 5.0
"""Seconds before a listener whose connection failed tries again."""


async def listen_for_due_work(url: DatabaseUrl, wake: Callable[[], None]) -> None:
    """Call `wake()` on every due-work notification, until cancelled (PostgreSQL only)."""
    if url.is_sqlite:
        return
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
                wake()  # anything that became due while we were not listening
                async for _ in conn.notifies():
                    wake()
            finally:
                with contextlib.suppress(psycopg.Error):
                    await conn.close()
        except psycopg.Error as exc:
            log.warning("listening for due work failed (%s); polling meanwhile", exc)
            await asyncio.sleep(RECONNECT_AFTER)
