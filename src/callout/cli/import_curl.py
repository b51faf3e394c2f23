"""`callout import-curl`: turn a curl command from an API's docs into a Make HTTPS Request step."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import NoReturn

import click
import yaml

from callout.cli.secret_options import env_name
from callout.steps.https_request.curl_import import (
    MAX_COMMAND_CHARS,
    CurlImport,
    CurlImportError,
    import_curl,
)

EXIT_UNREADABLE = 2
MAX_COMMAND_BYTES = MAX_COMMAND_CHARS * 4
"""The most bytes read: the longest command, every character four UTF-8 bytes."""


def _fail(lines: list[str]) -> NoReturn:
    for line in lines:
        click.echo(line, err=True)
    sys.exit(EXIT_UNREADABLE)


def read_command(source: str) -> str:
    """Read the command from a file, or standard input for `-`; exit 2 when unreadable."""
    try:
        if source == "-":
            if sys.stdin.isatty():
                click.echo("paste the curl command, then press Ctrl-D:", err=True)
            data = sys.stdin.buffer.read(MAX_COMMAND_BYTES + 1)
        else:
            with Path(source).open("rb") as handle:
                data = handle.read(MAX_COMMAND_BYTES + 1)
    except OSError as exc:
        _fail([f"cannot read {source}: {exc.strerror}"])
    shown = "standard input" if source == "-" else source
    if len(data) > MAX_COMMAND_BYTES:
        _fail([f"cannot import {shown}: it is longer than {MAX_COMMAND_CHARS} characters"])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        _fail([f"cannot read {shown}: not UTF-8 text"])


def step_yaml(result: CurlImport) -> str:
    """Return the step as a YAML list item, ready to paste under `steps:`."""
    return yaml.safe_dump(
        [result.step], sort_keys=False, allow_unicode=True, width=100, default_flow_style=False
    )


def guidance(result: CurlImport) -> list[str]:
    """Return the lines that say which secrets to store (and how) and the notes."""
    lines: list[str] = []
    if result.secrets:
        width = max(len(secret.name) for secret in result.secrets)
        lines.append("secrets to store (the step references them; their values are not in it):")
        lines.extend(
            f"  {secret.name.ljust(width)}  from {secret.found_in}" for secret in result.secrets
        )
        lines.append("store them for the service (or on the dashboard's Secrets page):")
        lines.extend(
            '  curl -H "Authorization: Bearer $CALLOUT_API_KEY" "$CALLOUT_URL/v1/secrets" '
            "-H 'content-type: application/json' "
            f"""-d '{{"name": "{secret.name}", "value": "..."}}'"""
            for secret in result.secrets
        )
        given = " ".join(
            f"--secret {secret.name}=env:{secret.name.upper()}" for secret in result.secrets
        )
        lines.append("or give them to callout run (value, env:VAR or @file):")
        lines.append(f"  callout run WORKFLOW {given}")
        lines.append("or to callout worker, in its environment:")
        lines.extend(f"  export {env_name(secret.name)}=..." for secret in result.secrets)
    if result.notes:
        lines.append("notes:")
        lines.extend(f"  - {note}" for note in result.notes)
    return lines


@click.command("import-curl")
@click.argument("source", metavar="[FILE|-]", default="-", required=False)
@click.option(
    "--id",
    "step_id",
    metavar="STEP_ID",
    help="The step's id ([a-z][a-z0-9_]*). Default: from the service and the URL's path, "
    "e.g. stripe_charges.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print {step, secrets: [{name, found_in}], notes} as JSON on standard output "
    "({problems: [{path, message}]} when the command cannot be read).",
)
def import_curl_command(source: str, step_id: str | None, as_json: bool) -> None:
    """Turn a curl command (as API docs print it) into a Make HTTPS Request step.

    Reads FILE, or standard input (`-`, the default). Prints the step as YAML, ready
    to paste under `steps:`; on standard error, the secrets to store and how, and
    notes on what was kept as text or left out. Credentials (Authorization, API key
    headers, -u, cookies, tokens in the query or body) become `{{ secrets.<name> }}`
    references: no credential is ever printed. Exit 0 when imported, 2 when the
    command cannot be read (every problem is listed).
    """
    command = read_command(source)
    try:
        result = import_curl(command, step_id=step_id)
    except CurlImportError as exc:
        if as_json:
            problems = [{"path": p.path, "message": p.message} for p in exc.problems]
            click.echo(json.dumps({"problems": problems}, indent=2, ensure_ascii=False))
            sys.exit(EXIT_UNREADABLE)
        count = len(exc.problems)
        _fail(
            [f"cannot import the curl command ({count} problem{'s' if count != 1 else ''}):"]
            + [f"  {problem.message}" for problem in exc.problems]
        )
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
        return
    click.echo(step_yaml(result), nl=False)
    for line in guidance(result):
        click.echo(line, err=True)
