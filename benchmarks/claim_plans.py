"""A claim's cost as PostgreSQL's tables grow: it must not grow with them.

Seeds a fresh database with a backlog of due step runs, then finished runs in
steps (2,000, 20,000, 100,000 by default, never analyzed, as on a database whose
autovacuum is off), and times claims of 8 step runs on one connection at each
size: the median of 30, each in its own transaction, timed without its commit
(whose disk sync varies more than the claim). The ratio of the largest size to the smallest is the figure: about 1 when the
claim reaches its tables by key.

    .venv/bin/python benchmarks/claim_plans.py [--sizes 2000 20000 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from harness import fresh_store

from callout.model.ids import new_id
from callout.store.claim_statement import claim_at_once
from callout.store.prepared_sql import REPLAN_EVERY

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the tests' own seeding
from support.seeded_runs import seed_runs

CLAIMS = 30
AT_ONCE = 8


def _claims(conn: sa.Connection) -> float:
    """Median seconds of `CLAIMS` claims of `AT_ONCE` step runs each."""
    took = []
    for _ in range(CLAIMS):
        with conn.begin():
            started = time.perf_counter()
            claimed = claim_at_once(
                conn, lease_seconds=30, limit=AT_ONCE, run_id=None, attempt_id=lambda: new_id("att")
            )
            took.append(time.perf_counter() - started)
        if len(claimed) != AT_ONCE:
            raise SystemExit(f"claimed {len(claimed)}, not {AT_ONCE}: the backlog ran dry")
    return statistics.median(took)


async def measure(sizes: list[int]) -> list[tuple[int, float]]:
    """Return (finished runs, median claim seconds) for each size."""
    async with fresh_store("postgresql") as (_url, store):
        engine = store.engine
        seed_runs(engine, "due", CLAIMS * AT_ONCE * len(sizes), due=True)
        figures = []
        with engine.connect() as conn:
            had = 0
            for size in sorted(sizes):
                seed_runs(engine, f"f{size}", size - had, due=False)
                had = size
                await asyncio.sleep(REPLAN_EVERY)  # no database grows this much between plans
                figures.append((size, _claims(conn)))
        return figures


def main() -> None:
    """Print the claim's median time at each table size and the ratio, largest to smallest."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000, 100000])
    args = parser.parse_args()
    figures = asyncio.run(measure(args.sizes))
    for size, seconds in figures:
        print(f"  {size:>7} finished runs: claim of {AT_ONCE} median {seconds * 1e6:8.0f} us")
    print(f"  largest / smallest: {figures[-1][1] / figures[0][1]:.2f}x")
    print(
        "reproduce: .venv/bin/python benchmarks/claim_plans.py --sizes "
        + " ".join(map(str, args.sizes))
    )


if __name__ == "__main__":
    main()
