"""Retry-timer lateness: 10,000 retries due within the same minute, p50 and p99.

Lateness is when the retry's request reaches the server minus its due time.

    .venv/bin/python benchmarks/timers.py --database sqlite --retries 10000 --workers 1
"""

from __future__ import annotations

import argparse
import asyncio
import time

from harness import (
    arrivals,
    count_runs,
    fresh_store,
    https_server,
    insert_waiting_retries,
    percentile,
    start_workers,
    stop_workers,
)


async def measure(kind: str, retries: int, workers: int, lead: float) -> list[float]:
    """Return each retry's lateness in milliseconds."""
    with https_server() as server:
        async with fresh_store(kind) as (url, store):
            first_due = time.time() + lead
            due_times = [first_due + 60.0 * i / retries for i in range(retries)]
            ids = await insert_waiting_retries(store, server.url, due_times)
            processes = await start_workers(workers, server.env(url), "--concurrency", "128")
            try:
                while await count_runs(store, "completed") < retries:
                    await asyncio.sleep(0.2)
            finally:
                await stop_workers(processes)
            seen = await arrivals(server)
            return [(seen[key] - due) * 1000 for key, due in zip(ids, due_times, strict=True)]


def main() -> None:
    """Print p50 and p99 lateness."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--retries", type=int, default=10000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--lead", type=float, default=15.0, help="seconds until the first is due")
    args = parser.parse_args()
    values = asyncio.run(measure(args.database, args.retries, args.workers, args.lead))
    print(
        f"database {args.database}, {args.retries} retries due within one minute, {args.workers} worker(s)"
    )
    print(
        f"lateness: p50 {percentile(values, 0.5):.1f} ms, p99 {percentile(values, 0.99):.1f} ms, max {max(values):.1f} ms"
    )
    print(
        f"reproduce: .venv/bin/python benchmarks/timers.py --database {args.database} --retries {args.retries} --workers {args.workers}"
    )


if __name__ == "__main__":
    main()
