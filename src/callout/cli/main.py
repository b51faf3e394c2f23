"""The `callout` command: the only place that wires every layer together."""

from __future__ import annotations

import click

from callout import __version__
from callout.cli.db import db_group
from callout.cli.orgs import keygen_command, keys_group, orgs_group
from callout.cli.receiver import receiver_command
from callout.cli.run import run_command
from callout.cli.runs import runs_group
from callout.cli.serve import api_command, serve_command
from callout.cli.validate import validate_command
from callout.cli.verify import verify_command
from callout.cli.worker import worker_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="callout")
def cli() -> None:
    """callout: run workflows whose steps make signed, retried, guarded HTTPS requests.

    \b
    callout serve                                 dashboard, API and worker at http://127.0.0.1:8000
    callout api                                   dashboard and API alone (beside workers)
    callout orgs create NAME --plan growth        an organization and its first API key
    callout keys create|list|revoke               API keys
    callout keygen                                a new CALLOUT_SECRET_KEY
    callout validate wf.yaml                      check a workflow document
    callout run wf.yaml --trigger payload.json    record a run and execute it here
    callout run wf.yaml --detach                  record it; a worker executes it
    callout worker                                execute due work until SIGTERM
    callout runs list | show ID | resume ID       recorded runs
    callout db upgrade                            apply migrations
    callout verify --secret S --header H --body-file F   check a signature
    callout receiver --port 8443 --secret S       a local HTTPS endpoint to try workflows on
    """  # noqa: D301  # click reads \b as "keep these lines as written"


cli.add_command(validate_command)
cli.add_command(run_command)
cli.add_command(verify_command)
cli.add_command(receiver_command)
cli.add_command(worker_command)
cli.add_command(runs_group)
cli.add_command(db_group)
cli.add_command(serve_command)
cli.add_command(api_command)
cli.add_command(orgs_group)
cli.add_command(keys_group)
cli.add_command(keygen_command)


def main() -> None:
    """Entry point of the console script."""
    cli()
