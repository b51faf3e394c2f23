"""`callout validate`: check a workflow document and list every problem with its path."""

from __future__ import annotations

import json
import os
import sys

import click

from callout.cli.documents import load_document
from callout.cli.secret_options import known_secret_names, parse_secret_options
from callout.http import allow_http_from
from callout.model.errors import DocumentError
from callout.steps.validation import ValidWorkflow, validate_workflow

EXIT_INVALID = 2


def allow_http_from_env() -> bool:
    """Whether the operator allows plain HTTP (`CALLOUT_ALLOW_HTTP=1`); exit 2 on a bad value."""
    try:
        return allow_http_from(os.environ)
    except ValueError as exc:
        click.echo(f"invalid setting: {exc}", err=True)
        sys.exit(EXIT_INVALID)


def report_problems(error: DocumentError, *, as_json: bool, what: str) -> None:
    """Print a document's problems: one per line on stderr, or a JSON object on stdout."""
    if as_json:
        problems = [{"path": p.path, "message": p.message} for p in error.problems]
        click.echo(json.dumps({"valid": False, "problems": problems}, indent=2))
        return
    count = len(error.problems)
    click.echo(f"{what} is invalid ({count} problem{'s' if count != 1 else ''}):", err=True)
    for problem in error.problems:
        click.echo(f"  {problem}", err=True)


@click.command("validate")
@click.argument("workflow", metavar="WORKFLOW_FILE")
@click.option(
    "--secret",
    "secret_options",
    multiple=True,
    metavar="NAME[=VALUE]",
    help="A secret that will exist when the workflow runs. Once any is given (or a "
    "CALLOUT_SECRET_<NAME> is set), a reference to any other secret is an error.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def validate_command(workflow: str, secret_options: tuple[str, ...], as_json: bool) -> None:
    """Check a workflow document (YAML or JSON; `-` reads standard input).

    Every problem is listed at once with its path, e.g.
    `steps[1].headers[0].value: must not contain CR, LF or NUL`. Exit 0 when the
    document is valid, 2 when it is not.
    """
    given = parse_secret_options(secret_options, values_required=False)
    known = known_secret_names(given)
    try:
        valid: ValidWorkflow = validate_workflow(
            load_document(workflow, what="workflow"),
            secrets=frozenset(known) if known else None,
            allow_http=allow_http_from_env(),
        )
    except DocumentError as exc:
        report_problems(exc, as_json=as_json, what=workflow)
        sys.exit(EXIT_INVALID)
    needed = sorted(valid.secret_names())
    if as_json:
        summary = {
            "valid": True,
            "name": valid.name,
            "steps": [s.id for s in valid.steps],
            "secrets": needed,
        }
        click.echo(json.dumps(summary, indent=2))
        return
    steps = len(valid.steps)
    click.echo(f"{workflow}: valid: {valid.name!r}, {steps} step{'s' if steps != 1 else ''}")
    if needed:
        click.echo(f"  needs secrets: {', '.join(needed)}")
