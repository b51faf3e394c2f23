"""Worker memory with 1,000,000 pending retries in the store, against the same worker with none.

A wait is a row, not a sleeping coroutine: the worker's RSS should not grow with them.

    .venv/bin/python benchmarks/memory.py --database sqlite --pending 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import time

from harness import (
    fresh_store,
    https_server,
    insert_waiting_retries,
    rss_kib,
    start_workers,
    stop_workers,
)


async def worker_rss(kind: str, pending: int, settle: float) -> int:
    """Return a worker's RSS (KiB) after `settle` seconds beside `pending` future retries."""
    with https_server() as server:
        async with fresh_store(kind) as (url, store):
            if pending:
                await insert_waiting_retries(store, server.url, [time.time() + 3600.0] * pending)
            (worker,) = await start_workers(1, server.env(url))
            try:
                await asyncio.sleep(settle)
                return rss_kib(worker.pid)
            finally:
                await stop_workers([worker])


def main() -> None:
    """Print both RSS figures and their difference."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--pending", type=int, default=1_000_000)
    parser.add_argument("--settle", type=float, default=8.0)
    args = parser.parse_args()
    idle = asyncio.run(worker_rss(args.database, 0, args.settle))
    loaded = asyncio.run(worker_rss(args.database, args.pending, args.settle))
    print(f"database {args.database}: worker RSS with no pending retries {idle / 1024:.1f} MiB")
    print(
        f"database {args.database}: worker RSS with {args.pending} pending retries {loaded / 1024:.1f} MiB"
    )
    print(f"difference: {(loaded - idle) / 1024:+.1f} MiB (target: within 50 MiB)")
    print(
        f"reproduce: .venv/bin/python benchmarks/memory.py --database {args.database} --pending {args.pending}"
    )


if __name__ == "__main__":
    main()
