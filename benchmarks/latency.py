"""Latency from recording a run to its request arriving at the server: p50 and p99.

One idle `callout worker` polls the store; runs are recorded one at a time.

    .venv/bin/python benchmarks/latency.py --database sqlite --runs 200
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
    one_step_document,
    percentile,
    start_workers,
    stop_workers,
)

from callout.engine.starting import start_run
from callout.model.clock import SystemClock
from callout.steps.validation import validate_workflow


async def measure(kind: str, runs: int) -> list[float]:
    """Return each run's latency in milliseconds."""
    with https_server() as server:
        async with fresh_store(kind) as (url, store):
            workflow = validate_workflow(one_step_document(server.url))
            workers = await start_workers(1, server.env(url))
            try:
                await asyncio.sleep(2.0)  # let the worker start and reach its idle poll
                recorded: dict[str, float] = {}
                for _ in range(runs):
                    started = time.time()
                    run_id = await start_run(store, workflow, {}, clock=SystemClock())
                    recorded[run_id] = started
                    await asyncio.sleep(0.03)
                while await count_runs(store, "completed") < runs:
                    await asyncio.sleep(0.05)
                seen = await arrivals(server)
                latencies = []
                for run_id, started in recorded.items():
                    step_run_id = (await store.get_run(run_id)).steps[0].id
                    latencies.append((seen[step_run_id] - started) * 1000)
                return latencies
            finally:
                await stop_workers(workers)


def main() -> None:
    """Print p50 and p99."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    values = asyncio.run(measure(args.database, args.runs))
    print(f"database {args.database}, {args.runs} runs recorded one at a time, one idle worker")
    print(
        f"trigger -> request at server: p50 {percentile(values, 0.5):.1f} ms, p99 {percentile(values, 0.99):.1f} ms"
    )
    print(
        f"reproduce: .venv/bin/python benchmarks/latency.py --database {args.database} --runs {args.runs}"
    )


if __name__ == "__main__":
    main()
