"""A worker running on this event loop for the span of a block."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from callout.engine.worker import Worker

STOP_WITHIN = 20.0
"""How long a stopped worker may take to finish what it holds (generous: a busy 2-core box)."""


@asynccontextmanager
async def worker_running(worker: Worker) -> AsyncIterator[Worker]:
    """Run `worker` for the block; then ask it to stop and wait until it has."""
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        yield worker
    finally:
        stop.set()
        await asyncio.wait_for(task, STOP_WITHIN)
