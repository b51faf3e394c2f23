"""`callout run`: record a run in the store and execute it here, or leave it to a worker."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from typing import Any

import click
from rich.console import Console

from callout.cli.documents import load_document
from callout.cli.live_view import LiveView
from callout.cli.plain_log import PlainLog
from callout.cli.secret_options import EnvironmentSecrets, parse_secret_options, secrets_for
from callout.cli.store_access import database_option, opened_store
from callout.cli.validate import EXIT_INVALID, allow_http_from_env, report_problems
from callout.engine.attached import run_attached
from callout.engine.executor import StepExecutor
from callout.engine.report import run_report
from callout.engine.starting import start_run
from callout.engine.token_source import AccessTokens
from callout.http import AiohttpTransport, TransportConfig
from callout.model.clock import SystemClock
from callout.model.errors import DocumentError, SecretMissingError
from callout.steps.validation import ValidWorkflow, validate_workflow
from callout.store.protocol import StoredRun

EXIT_FAILED = 1
EXIT_INTERRUPTED = 130
WORKER_SEEN_WITHIN = 30.0
"""A detached run warns when no worker said it was alive in this many seconds."""


def _load(workflow: str, trigger: str | None, as_json: bool) -> tuple[ValidWorkflow, Any]:
    try:
        valid = validate_workflow(
            load_document(workflow, what="workflow"), allow_http=allow_http_from_env()
        )
    except DocumentError as exc:
        report_problems(exc, as_json=as_json, what=workflow)
        sys.exit(EXIT_INVALID)
    try:
        payload: Any = {} if trigger is None else load_document(trigger, what="trigger payload")
        valid.check_trigger(payload)
    except DocumentError as exc:
        report_problems(exc, as_json=as_json, what="the trigger payload")
        sys.exit(EXIT_INVALID)
    return valid, payload


def summary(run: StoredRun) -> str:
    """Say how a run ended, a line per step."""
    lines = [f"run {run.id}: {run.status}"]
    for step in run.steps:
        tries = len(step.attempts)
        detail = f"{tries} attempt{'s' if tries != 1 else ''}" if tries else ""
        if step.error is not None:
            detail += f"; {step.error.get('type')}: {step.error.get('message')}"
        lines.append(f"  {step.step_id}: {step.status}" + (f" ({detail})" if detail else ""))
    return "\n".join(lines)


@contextlib.contextmanager
def _view(as_json: bool, live: bool | None) -> Iterator[Callable[[StoredRun], None] | None]:
    use_live = sys.stderr.isatty() if live is None else live
    if use_live and not as_json:
        with LiveView(Console(stderr=True)) as view:
            yield view.update
    elif as_json and not use_live:
        yield None
    else:
        yield PlainLog(sys.stderr).update


async def _detach(database: str | None, valid: ValidWorkflow, payload: Any) -> None:
    clock = SystemClock()
    async with opened_store(database) as store:
        run_id = await start_run(store, valid, payload, clock=clock)
        # Measured by the database's clock: this machine's may be off.
        seen_ago = await store.seconds_since_worker_seen()
    click.echo(run_id)
    if seen_ago is None or seen_ago > WORKER_SEEN_WITHIN:
        click.echo(
            "note: no `callout worker` (or `callout serve`) has been seen recently; "
            "the run waits until one runs",
            err=True,
        )


async def _attached(
    database: str | None,
    valid: ValidWorkflow,
    payload: Any,
    secrets: dict[str, str],
    config: TransportConfig,
    on_change: Callable[[StoredRun], None] | None,
) -> StoredRun:
    clock = SystemClock()
    transport = AiohttpTransport(config)
    try:
        async with opened_store(database) as store:
            run_id = await start_run(store, valid, payload, clock=clock)
            executor = StepExecutor(
                store=store,
                transport=transport,
                secrets=EnvironmentSecrets(given=secrets),
                clock=clock,
                allow_http=config.allow_http,
                # One run, one process: OAuth2 tokens are kept here only (docs/oauth2.md).
                tokens=AccessTokens(transport),
            )
            try:
                return await run_attached(store, executor, run_id, clock=clock, on_change=on_change)
            except asyncio.CancelledError:
                click.echo(
                    f"\ninterrupted: run {run_id} is recorded; `callout worker` will finish it",
                    err=True,
                )
                raise
    finally:
        await transport.aclose()


@click.command("run")
@click.argument("workflow", metavar="WORKFLOW_FILE")
@click.option(
    "--trigger",
    metavar="FILE",
    help="The trigger payload (JSON or YAML; `-` reads standard input). Default: {}.",
)
@click.option(
    "--secret",
    "secret_options",
    multiple=True,
    metavar="NAME=VALUE",
    help="A secret the workflow references: NAME=value, NAME=@file or NAME=env:VAR. "
    "CALLOUT_SECRET_<NAME> in the environment works too.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON report on standard output.")
@click.option(
    "--live/--no-live",
    default=None,
    help="Force the live view on or off (default: live on a terminal, a plain log otherwise).",
)
@click.option(
    "--detach",
    is_flag=True,
    help="Record the run, print its id and return; `callout worker` executes it.",
)
@database_option
def run_command(
    workflow: str,
    trigger: str | None,
    secret_options: tuple[str, ...],
    as_json: bool,
    live: bool | None,
    detach: bool,
    database: str | None,
) -> None:
    """Run a workflow: record it in the store, then execute it here (or detached, by a worker).

    \b
    Exit codes: 0 the run completed (also when an errored step continued),
                1 the run failed,
                2 invalid document, trigger payload or missing secret,
                130 interrupted (the run stays recorded; a worker finishes it).
    Operator settings: CALLOUT_DATABASE_URL, CALLOUT_ALLOWED_NETWORKS,
    CALLOUT_CA_BUNDLE, CALLOUT_ALLOW_HTTP, CALLOUT_MAX_RESPONSE_BYTES.
    """  # noqa: D301  # click reads \b as "keep these lines as written"
    valid, payload = _load(workflow, trigger, as_json)
    given = parse_secret_options(secret_options)
    if detach:
        if given:
            click.echo(
                "--secret values are never stored, so a detached run cannot use them: "
                "set CALLOUT_SECRET_<NAME> where `callout worker` runs",
                err=True,
            )
            sys.exit(EXIT_INVALID)
        asyncio.run(_detach(database, valid, payload))
        return
    secrets, missing = secrets_for(sorted(valid.secret_names()), given)
    if missing:
        click.echo(str(SecretMissingError(missing)), err=True)
        sys.exit(EXIT_INVALID)
    try:
        config = TransportConfig.from_env()
    except ValueError as exc:
        click.echo(f"invalid setting: {exc}", err=True)
        sys.exit(EXIT_INVALID)
    try:
        with _view(as_json, live) as on_change:
            run = asyncio.run(_attached(database, valid, payload, secrets, config, on_change))
    except KeyboardInterrupt:
        sys.exit(EXIT_INTERRUPTED)
    if as_json:
        click.echo(json.dumps(run_report(run), indent=2, ensure_ascii=False))
    else:
        click.echo(summary(run))
    sys.exit(0 if run.status == "completed" else EXIT_FAILED)
