"""A group commit that PostgreSQL ends as deadlocked runs again, whole, and its callers never know.

Two batches of results may lock two hosts' delivery rows in opposite orders
(`host_outcomes.py`); PostgreSQL then aborts one of them. Nothing of it was
committed, so `SyncSqlStore.write_batch` runs it again.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from callout.store.database import database_url, open_engine
from callout.store.schema import upgrade
from callout.store.sql_sync import SyncSqlStore
from callout.store.tables import host_states, organizations

HOSTS = ("a.example.com", "b.example.com")


async def test_a_deadlocked_group_commit_runs_again_and_both_commit(pg_url: str) -> None:
    engine = open_engine(database_url(pg_url))
    try:
        await upgrade(engine)
        with engine.begin() as conn:
            conn.execute(
                organizations.insert().values(
                    id="org_1", name="Acme", plan="growth", created_at=1.0, updated_at=1.0
                )
            )
            for host in HOSTS:
                conn.execute(host_states.insert().values(org_id="org_1", host=host, updated_at=1))
        store = SyncSqlStore(engine)
        runs: Counter[str] = Counter()
        both_hold_one = threading.Barrier(2)

        def failure_counted(first: str, then: str) -> Callable[[sa.Connection], None]:
            def count(conn: sa.Connection) -> None:
                runs[first] += 1
                for index, host in enumerate((first, then)):
                    conn.execute(
                        sa.update(host_states)
                        .where(host_states.c.host == host)
                        .values(consecutive_failures=host_states.c.consecutive_failures + 1)
                    )
                    if index == 0 and runs[first] == 1:
                        both_hold_one.wait(timeout=10)  # each holds one row, wants the other

            return count

        with ThreadPoolExecutor(max_workers=2) as pool:
            batches = [
                pool.submit(store.write_batch, [(failure_counted(*order), False)], synced=False)
                for order in (HOSTS, HOSTS[::-1])
            ]
            assert [batch.result(timeout=30) for batch in batches] == [[(True, None)]] * 2
        assert sorted(runs.values()) == [1, 2]  # one of them was ended and ran again
        with engine.connect() as conn:
            counted = conn.execute(sa.select(host_states.c.consecutive_failures)).scalars().all()
        assert counted == [2, 2]  # each counted once per batch that committed
    finally:
        engine.dispose()
