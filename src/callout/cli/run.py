"""`callout run`: execute a workflow here and now, attached, and report what happened."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Iterator
from typing import Any

import click
from rich.console import Console

from callout.cli.documents import load_document
from callout.cli.live_view import LiveView
from callout.cli.plain_log import PlainLog
from callout.cli.secret_options import parse_secret_options, secrets_for
from callout.cli.validate import EXIT_INVALID, allow_http_from_env, report_problems
from callout.engine.local_run import LocalRunner
from callout.engine.observer import QuietObserver, RunObserver
from callout.http import AiohttpTransport, TransportConfig
from callout.model.errors import DocumentError, SecretMissingError
from callout.model.records import RunRecord, RunStatus
from callout.steps.validation import ValidWorkflow, validate_workflow

EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


def _load(workflow: str, trigger: str | None, as_json: bool) -> tuple[ValidWorkflow, Any]:
    try:
        valid = validate_workflow(
            load_document(workflow, what="workflow"), allow_http=allow_http_from_env()
        )
    except DocumentError as exc:
        report_problems(exc, as_json=as_json, what=workflow)
        sys.exit(EXIT_INVALID)
    payload: Any = {}
    if trigger is not None:
        try:
            payload = load_document(trigger, what="trigger payload")
            valid.check_trigger(payload)
        except DocumentError as exc:
            report_problems(exc, as_json=as_json, what="the trigger payload")
            sys.exit(EXIT_INVALID)
    return valid, payload


def _summary(run: RunRecord) -> str:
    lines = [f"run {run.id}: {run.status.value}"]
    for step in run.steps:
        tries = len(step.attempts)
        detail = f"{tries} attempt{'s' if tries != 1 else ''}" if tries else ""
        if step.error is not None:
            detail += f"; {step.error.type}: {step.error.message}"
        lines.append(f"  {step.step_id}: {step.status.value}" + (f" ({detail})" if detail else ""))
    return "\n".join(lines)


@contextlib.contextmanager
def _observer(as_json: bool, live: bool | None) -> Iterator[RunObserver]:
    use_live = sys.stderr.isatty() if live is None else live
    if use_live and not as_json:
        with LiveView(Console(stderr=True)) as view:
            yield view
    elif as_json and not use_live:
        yield QuietObserver()
    else:
        yield PlainLog(sys.stderr)


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
def run_command(
    workflow: str,
    trigger: str | None,
    secret_options: tuple[str, ...],
    as_json: bool,
    live: bool | None,
) -> None:
    r"""Run a workflow in this process, waiting the real retry intervals.

    \b
    Exit codes: 0 the run completed (also when an errored step continued),
                1 the run failed,
                2 invalid document, trigger payload or missing secret.
    Operator settings: CALLOUT_ALLOWED_NETWORKS, CALLOUT_CA_BUNDLE,
    CALLOUT_ALLOW_HTTP, CALLOUT_MAX_RESPONSE_BYTES (see the README).
    """
    valid, payload = _load(workflow, trigger, as_json)
    given = parse_secret_options(secret_options)
    secrets, missing = secrets_for(sorted(valid.secret_names()), given)
    if missing:
        click.echo(str(SecretMissingError(missing)), err=True)
        sys.exit(EXIT_INVALID)
    try:
        config = TransportConfig.from_env()
    except ValueError as exc:
        click.echo(f"invalid setting: {exc}", err=True)
        sys.exit(EXIT_INVALID)

    async def execute(observer: RunObserver) -> RunRecord:
        transport = AiohttpTransport(config)
        try:
            runner = LocalRunner(transport=transport, secrets=secrets, observer=observer)
            return await runner.run(valid, payload)
        finally:
            await transport.aclose()

    try:
        with _observer(as_json, live) as observer:
            run = asyncio.run(execute(observer))
    except KeyboardInterrupt:
        click.echo("interrupted: the run was not finished", err=True)
        sys.exit(EXIT_INTERRUPTED)
    if as_json:
        click.echo(json.dumps(run.to_json(), indent=2, ensure_ascii=False))
    else:
        click.echo(_summary(run))
    sys.exit(0 if run.status is RunStatus.COMPLETED else EXIT_FAILED)
