"""`callout runs`: list, show and resume recorded runs."""

from __future__ import annotations

import asyncio
import json
import sys

import click

from callout.cli.run import summary
from callout.cli.store_access import database_option, opened_store
from callout.engine.report import run_report
from callout.engine.starting import resume_run
from callout.model.clock import SystemClock
from callout.model.records import RunStatus
from callout.model.timestamps import iso_utc
from callout.store.protocol import RunStateError, StoredRun, UnknownRunError

EXIT_NOT_FOUND = 1


@click.group("runs")
def runs_group() -> None:
    """List, show and resume recorded runs."""


@runs_group.command("list")
@database_option
@click.option(
    "--status", type=click.Choice([s.value for s in RunStatus]), help="Only runs with this status."
)
@click.option("--limit", default=50, show_default=True, help="How many runs, newest first.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_command(database: str | None, status: str | None, limit: int, as_json: bool) -> None:
    """List runs, newest first."""

    async def fetch() -> list[StoredRun]:
        async with opened_store(database) as store:
            return await store.list_runs(status=status, limit=limit)

    found = asyncio.run(fetch())
    if as_json:
        rows = [
            {
                "run_id": r.id,
                "workflow": r.workflow_name,
                "status": r.status,
                "created_at": iso_utc(r.created_at),
            }
            for r in found
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    if not found:
        click.echo("no runs")
        return
    for run in found:
        click.echo(f"{run.id}  {run.status:<10} {iso_utc(run.created_at)}  {run.workflow_name}")


@runs_group.command("show")
@click.argument("run_id")
@database_option
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print JSON: steps, attempts, redacted requests and responses.",
)
def show_command(run_id: str, database: str | None, as_json: bool) -> None:
    """Show a run: its steps and every attempt (requests and responses redacted)."""

    async def fetch() -> StoredRun:
        async with opened_store(database) as store:
            return await store.get_run(run_id)

    try:
        run = asyncio.run(fetch())
    except (UnknownRunError, RunStateError) as exc:
        click.echo(str(exc), err=True)
        sys.exit(EXIT_NOT_FOUND)
    if as_json:
        click.echo(json.dumps(run_report(run), indent=2, ensure_ascii=False))
        return
    click.echo(summary(run))
    for step in run.steps:
        for attempt in step.attempts:
            request = attempt.request or {}
            outcome = attempt.http_status if attempt.http_status is not None else attempt.status
            click.echo(
                f"    {step.step_id} #{attempt.number} {iso_utc(attempt.started_at)} "
                f"{request.get('method', '')} {request.get('url', '')} -> {outcome}"
            )


@runs_group.command("resume")
@click.argument("run_id")
@database_option
def resume_command(run_id: str, database: str | None) -> None:
    """Resume a failed run from its failed step (a new step run, with a new idempotency key).

    The run is left to `callout worker` (or `callout serve`).
    """

    async def resume() -> str:
        async with opened_store(database) as store:
            return await resume_run(store, run_id, clock=SystemClock())

    try:
        step_run_id = asyncio.run(resume())
    except (UnknownRunError, RunStateError) as exc:
        click.echo(str(exc), err=True)
        sys.exit(EXIT_NOT_FOUND)
    click.echo(f"run {run_id} resumed: step run {step_run_id} is due now")
