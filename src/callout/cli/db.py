"""`callout db`: the schema, pruning past retention, and backup and check of a SQLite store."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from callout.cli.store_access import EXIT_STORE, database_option, opened_store
from callout.engine.retention_task import describe
from callout.store.backup import BackupError, backup_sqlite, check_sqlite
from callout.store.database import database_url
from callout.store.pruning import DEFAULT_BATCH, PruneReport, PruneSettings, prune
from callout.store.retention import PruneCount, PruneKind, RetentionScope
from callout.store.schema import current_revision, known_revisions
from callout.store.sql_retention import sqlite_file_bytes
from callout.store.sql_store import SqlStore

EXIT_PROBLEM = 1
POSTGRES_BACKUP = (
    "callout does not back up PostgreSQL: use pg_dump, or continuous archiving for "
    "point-in-time recovery (docs/ops/backup.md says how, and why)"
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@click.group("db")
def db_group() -> None:
    """Manage the database: schema, pruning past retention, backup and check (SQLite)."""


@db_group.command("upgrade")
@database_option
def upgrade_command(database: str | None) -> None:
    """Apply every migration (commands that open the store also do this on start)."""

    async def upgrade() -> str | None:
        async with opened_store(database) as store:
            return await current_revision(store.engine)

    click.echo(f"schema at revision {asyncio.run(upgrade())}")


def _retention_json(scope: RetentionScope) -> dict[str, Any]:
    return {"retention_days": scope.retention.run_days, "body_days": scope.retention.bodies_days}


def _count_line(count: PruneCount, scope: RetentionScope) -> str:
    keeps = f"{scope.retention.run_days} d"
    if scope.retention.removes_bodies_early:
        keeps += f", bodies {scope.retention.bodies_days} d"
    return (
        f"{count.runs:>9,} {count.attempts:>9,} {count.bodies:>7,} {count.trigger_calls:>8,} "
        f"{count.trigger_keys:>7,} {count.kept_unfinished:>8,}  {count.name} "
        f"[{count.org_id or '-'}] (keeps {keeps})"
    )


async def _dry_run(store: SqlStore, as_json: bool) -> None:
    scopes = await store.retention.scopes()
    counts = [await store.retention.prunable(scope) for scope in scopes]
    if as_json:
        click.echo(
            json.dumps(
                {
                    "dry_run": True,
                    "scopes": [
                        {**asdict(count), **_retention_json(scope)}
                        for count, scope in zip(counts, scopes, strict=True)
                    ],
                }
            )
        )
        return
    click.echo("would remove (nothing removed: --dry-run):")
    click.echo("     runs  attempts  bodies    calls    keys  running  whose")
    for count, scope in zip(counts, scopes, strict=True):
        if count.org_id is not None or count.runs or count.kept_unfinished:
            click.echo(_count_line(count, scope))
    click.echo(
        "runs: finished runs past retention (with their step runs and attempts); bodies: "
        "runs whose bodies go (their records stay); calls: trigger call records; keys: "
        "trigger idempotency keys over 24 h old; running: past retention but still "
        "pending or running, kept"
    )


def _report_json(report: PruneReport, before: int | None, after: int | None) -> dict[str, Any]:
    return {
        "dry_run": False,
        "finished": report.finished,
        "seconds": round(report.seconds, 3),
        "batches": report.batches,
        "largest_batch": report.largest_batch,
        "removed": {kind.value: report.total(kind) for kind in PruneKind},
        "attempts": report.attempts,
        "scopes": [
            {
                "org_id": scope.org_id,
                "name": scope.name,
                **{kind.value: scope.removed[kind] for kind in PruneKind},
                "attempts": scope.attempts,
            }
            for scope in report.scopes
        ],
        "file_bytes_before": before,
        "file_bytes_after": after,
    }


async def _prune_now(store: SqlStore, *, batch: int, vacuum: bool, as_json: bool) -> None:
    holder = f"cli_{os.getpid()}_{secrets.token_hex(4)}"
    report = await prune(store.retention, holder=holder, settings=PruneSettings(batch=batch))
    if report is None:
        click.echo(
            "another pruner holds the prune lease (a worker is pruning now); try again in a minute",
            err=True,
        )
        sys.exit(EXIT_PROBLEM)
    before = after = None
    if vacuum:
        before = sqlite_file_bytes(store.engine)
        if before is None:
            click.echo("note: --vacuum is for SQLite; PostgreSQL's autovacuum reuses the space")
        else:
            await store.retention.vacuum()
            after = sqlite_file_bytes(store.engine)
    if as_json:
        click.echo(json.dumps(_report_json(report, before, after)))
        return
    click.echo(describe(report))
    removed = report.total(PruneKind.RUNS)
    if report.seconds > 0 and removed:
        click.echo(f"{removed / report.seconds:,.0f} runs deleted per second")
    for scope in report.scopes:
        if any(scope.removed.values()):
            parts = ", ".join(f"{number:,} {kind.value}" for kind, number in scope.removed.items())
            click.echo(f"  {scope.name} [{scope.org_id or '-'}]: {parts}")
    if before is not None and after is not None:
        click.echo(f"vacuumed: the file went from {before:,} to {after:,} bytes")


@db_group.command("prune")
@database_option
@click.option(
    "--dry-run", is_flag=True, help="Say what would go (counts per organization); remove nothing."
)
@click.option(
    "--batch",
    type=click.IntRange(1, 10_000),
    default=DEFAULT_BATCH,
    show_default=True,
    help="Most rows one transaction removes.",
)
@click.option(
    "--vacuum",
    is_flag=True,
    help="SQLite: after pruning, rewrite the file to give the freed space back to the "
    "disk (writes wait while it runs).",
)
@json_option
def prune_command(
    database: str | None, dry_run: bool, batch: int, vacuum: bool, as_json: bool
) -> None:
    """Remove what is past each organization's retention, now, in bounded batches.

    \b
    Finished runs older than the organization's retention (default 30 days) go
    with their step runs and attempts, and so do its trigger call records;
    bodies (trigger payloads, request and response bodies, step outputs) go
    after its body retention, the runs' records staying; trigger idempotency
    keys expire after 24 hours. Pending and running runs are never touched.
    Each batch is its own short transaction, so the API and workers go on
    meanwhile. Workers do the same every CALLOUT_PRUNE_EVERY seconds (600).
    Set retention with `callout orgs retention ORG --days N --body-days M`.
    """  # noqa: D301

    async def go() -> None:
        async with opened_store(database) as store:
            if dry_run:
                await _dry_run(store, as_json)
            else:
                await _prune_now(store, batch=batch, vacuum=vacuum, as_json=as_json)

    asyncio.run(go())


def _sqlite_path(database: str | None) -> Path:
    try:
        url = database_url(database)
    except ValueError as exc:
        click.echo(str(exc), err=True)
        sys.exit(EXIT_STORE)
    if not url.is_sqlite:
        click.echo(POSTGRES_BACKUP, err=True)
        sys.exit(EXIT_STORE)
    return Path(url.sqlalchemy_url.removeprefix("sqlite:///"))


@db_group.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@database_option
def backup_command(path: Path, database: str | None) -> None:
    """Copy a live SQLite store to PATH, consistently, while the API and workers write.

    \b
    SQLite's online backup API copies the database as it stood at one commit;
    the copy is one self-contained file (PATH must not exist). Check it with
    `callout db check PATH`; start from it with `callout serve --database PATH`
    (with the same CALLOUT_SECRET_KEY: it decrypts the stored secrets).
    PostgreSQL: use pg_dump or point-in-time recovery (docs/ops/backup.md).
    """  # noqa: D301
    source = _sqlite_path(database)
    try:
        made = backup_sqlite(source, path, busy_timeout=database_url(database).busy_timeout)
    except BackupError as exc:
        click.echo(f"no backup made: {exc}", err=True)
        sys.exit(EXIT_STORE)
    click.echo(
        f"backed up {source} to {made.path}: {made.bytes:,} bytes, schema revision "
        f"{made.revision}, {made.runs:,} runs, in {made.seconds:.2f} s"
    )


@db_group.command("check")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@json_option
def check_command(path: Path, as_json: bool) -> None:
    """Check a SQLite store (a backup) read-only: can callout start from it? Exit 1 if not.

    \b
    Runs SQLite's integrity and foreign-key checks, reads the schema revision
    (one this callout knows; an older one is upgraded when callout opens it),
    and counts what the file holds.
    """  # noqa: D301
    found = check_sqlite(path, known=known_revisions())
    if as_json:
        click.echo(json.dumps({**asdict(found), "path": str(found.path), "ok": found.ok}))
    else:
        click.echo(f"{path}: schema revision {found.revision or '(none)'}")
        for table, number in found.counts.items():
            click.echo(f"  {table:<18} {number:>12,}")
        if found.runs_by_status:
            statuses = ", ".join(f"{n:,} {status}" for status, n in found.runs_by_status.items())
            click.echo(f"  runs by status: {statuses}")
        for problem in found.problems:
            click.echo(f"problem: {problem}", err=True)
        click.echo("ok: callout can start from it" if found.ok else "not ok", err=not found.ok)
    if not found.ok:
        sys.exit(EXIT_PROBLEM)
