"""`callout db prune`, `callout orgs retention`, and the worker's own pruning, as real processes.

Old runs are written straight into a fresh SQLite file (tests/support/filled_runs.py),
dated 40 days back by the real clock; the commands then run as the operator runs them.
The worker, a `db prune` and an `orgs retention` are real processes; the other
commands run in this process (support/in_process_commands.py), on the same file.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from callout.store.database import database_url
from callout.store.retention import DAY
from callout.store.sql_store import open_store
from support.filled_runs import count_runs, fill_runs
from support.in_process_commands import invoke_callout
from support.processes import run_callout, start_callout, stop_gently, wait_for_line

DATABASE = "callout.db"


async def new_org(name: str = "Acme") -> str:
    code, out, err = await invoke_callout("orgs", "create", name, "--json", env={})
    assert code == 0, err
    org_id: str = json.loads(out)["organization"]["id"]
    return org_id


async def with_old_runs(org_id: str | None, count: int, *, body_bytes: int = 200) -> None:
    """`count` finished runs of `org_id`, made 40 days ago, in ./callout.db."""
    store = await open_store(database_url(DATABASE))
    try:
        await asyncio.to_thread(
            fill_runs,
            store.engine,
            count=count,
            created_at=time.time() - 40 * DAY,
            org_id=org_id,
            body_bytes=body_bytes,
        )
    finally:
        await store.close()


async def runs_left() -> int:
    store = await open_store(database_url(DATABASE))
    try:
        return await asyncio.to_thread(count_runs, store.engine)
    finally:
        await store.close()


def on_disk(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


async def prune_json(*args: str) -> dict[str, Any]:
    code, out, err = await invoke_callout("db", "prune", "--json", *args, env={})
    assert code == 0, err
    report: dict[str, Any] = json.loads(out)
    return report


async def test_a_dry_run_says_what_would_go_per_organization_and_removes_nothing(
    workdir: Path,
) -> None:
    acme, bravo = await new_org("Acme"), await new_org("Bravo")
    await with_old_runs(acme, 120)
    await with_old_runs(None, 5)

    report = await prune_json("--dry-run")

    scopes = {scope["org_id"]: scope for scope in report["scopes"]}
    assert report["dry_run"] is True
    assert (scopes[acme]["runs"], scopes[acme]["attempts"], scopes[acme]["name"]) == (
        120,
        120,
        "Acme",
    )
    assert scopes[bravo]["runs"] == 0
    assert scopes[None]["runs"] == 5  # runs of `callout run`: the default retention
    assert scopes[acme]["retention_days"] == 30
    code, out, err = await run_callout("db", "prune", "--dry-run", env={})
    assert code == 0, err
    assert "would remove" in out
    assert "Acme" in out
    assert "120" in out
    assert await runs_left() == 125


async def test_prune_removes_what_is_past_retention_in_batches(workdir: Path) -> None:
    acme = await new_org()
    await with_old_runs(acme, 1_234)

    report = await prune_json("--batch", "100")

    assert report["removed"]["runs"] == 1_234
    assert report["attempts"] == 1_234
    assert report["largest_batch"] == 100
    assert report["batches"] >= 13
    assert await runs_left() == 0
    code, out, err = await invoke_callout("db", "prune", env={})
    assert code == 0, err
    assert "pruned 0 runs" in out


async def test_vacuum_after_pruning_gives_the_space_back(workdir: Path) -> None:
    acme = await new_org()
    # Few runs with large bodies: the file is as big as with many small ones, and
    # pruning it takes a fraction of the time (it goes row by row).
    await with_old_runs(acme, 4_000, body_bytes=3_000)
    path = workdir / DATABASE
    full = on_disk(path)

    report = await prune_json("--vacuum")

    emptied = on_disk(path)
    assert report["removed"]["runs"] == 4_000
    assert full > 40_000_000  # four bodies of 3 KB per run, and their rows
    assert emptied < full / 10
    assert report["file_bytes_after"] == emptied
    assert report["file_bytes_before"] >= full / 2  # before vacuum the file had not shrunk


async def test_orgs_retention_shows_and_sets_the_setting(workdir: Path) -> None:
    acme = await new_org()

    code, out, err = await run_callout("orgs", "retention", acme, env={})
    assert code == 0, err
    assert "keeps runs 30 days (the default), their bodies as long" in out

    code, out, err = await invoke_callout(
        "orgs", "retention", acme, "--days", "14", "--body-days", "3", env={}
    )
    assert code == 0, err
    assert "keeps runs 14 days, their bodies 3 days" in out
    code, out, err = await invoke_callout("orgs", "retention", acme, "--json", env={})
    assert json.loads(out) == {"org_id": acme, "retention_days": 14, "body_retention_days": 3}

    code, out, err = await invoke_callout("orgs", "retention", acme, "--body-days", "same", env={})
    assert code == 0, err
    assert "keeps runs 14 days, their bodies as long" in out


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--days", "0"], "--days: must be 1 to 3650 days, got 0"),
        (["--days", "10", "--body-days", "20"], "--body-days: is 20 days, longer than"),
        (["--body-days", "soon"], "--body-days: expected a number of days or `same`"),
    ],
)
async def test_orgs_retention_refuses_a_bad_setting_naming_the_option(
    workdir: Path, options: list[str], message: str
) -> None:
    acme = await new_org()

    code, _, err = await invoke_callout("orgs", "retention", acme, *options, env={})

    assert code == 2
    assert message in err


async def test_orgs_retention_of_an_unknown_organization_fails(workdir: Path) -> None:
    await new_org()

    code, _, err = await invoke_callout("orgs", "retention", "org_NOPE", "--days", "3", env={})

    assert code == 1
    assert "no organization org_NOPE" in err


async def test_a_worker_prunes_on_its_schedule(workdir: Path) -> None:
    acme = await new_org()
    await with_old_runs(acme, 300)
    log = workdir / "worker.log"

    worker = await start_callout(
        "worker", env={"CALLOUT_PRUNE_EVERY": "1", "PYTHONUNBUFFERED": "1"}, log=log
    )
    try:
        await wait_for_line(log, "pruned 300 runs (300 attempts)")
    finally:
        assert await stop_gently(worker) == 0
    assert await runs_left() == 0


async def test_a_bad_prune_schedule_is_refused(workdir: Path) -> None:
    code, _, err = await run_callout("worker", env={"CALLOUT_PRUNE_EVERY": "soon"})

    assert code == 2
    assert "CALLOUT_PRUNE_EVERY: expected 0 (never) or seconds from 1 to 86400" in err


async def test_help_describes_the_db_commands(workdir: Path) -> None:
    code, out, _ = await invoke_callout("db", "--help", env={})
    assert code == 0
    for command in ("prune", "backup", "check", "upgrade"):
        assert command in out
    code, out, _ = await invoke_callout("db", "prune", "--help", env={})
    assert code == 0
    for option in ("--dry-run", "--batch", "--vacuum", "Pending and running runs are never"):
        assert option in out
