"""The `callout` command: the only place that wires every layer together."""

from __future__ import annotations

import importlib

import click

from callout import __version__

COMMANDS = {
    "validate": "callout.cli.validate:validate_command",
    "run": "callout.cli.run:run_command",
    "verify": "callout.cli.verify:verify_command",
    "receiver": "callout.cli.receiver:receiver_command",
    "worker": "callout.cli.worker:worker_command",
    "runs": "callout.cli.runs:runs_group",
    "db": "callout.cli.db:db_group",
    "serve": "callout.cli.serve:serve_command",
    "api": "callout.cli.serve:api_command",
    "orgs": "callout.cli.orgs:orgs_group",
    "keys": "callout.cli.orgs:keys_group",
    "keygen": "callout.cli.orgs:keygen_command",
    "import-curl": "callout.cli.import_curl:import_curl_command",
    "hosts": "callout.cli.hosts:hosts_group",
    "endpoints": "callout.cli.endpoints:endpoints_group",
}
"""Each command and where it lives: imported only when it runs (or when --help lists it),
so `callout validate` does not pay for the web framework, nor `callout worker` for the API."""


class LazyCommands(click.Group):
    """A group that imports a command's module only when that command is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Return every command's name, sorted."""
        del ctx
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Import and return the command `cmd_name`, or None when there is none."""
        del ctx
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, name = target.partition(":")
        command = getattr(importlib.import_module(module), name)
        assert isinstance(command, click.Command)  # noqa: S101 - COMMANDS names commands only
        return command


@click.group(cls=LazyCommands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="callout")
def cli() -> None:
    """callout: run workflows whose steps make signed, retried, guarded HTTPS requests.

    \b
    callout serve                                 dashboard, API and worker at http://127.0.0.1:8000
    callout api                                   dashboard and API alone (beside workers)
    callout orgs create NAME --plan growth        an organization and its first API key
    callout orgs retention ORG --days N           how long its runs and bodies are kept
    callout keys create|list|revoke               API keys
    callout keygen                                a new CALLOUT_SECRET_KEY
    callout hosts list|limit|unlimit|resume ORG   per-host limits, paused hosts
    callout endpoints list|add|update|remove ORG  where run events are sent
    callout validate wf.yaml                      check a workflow document
    callout import-curl cmd.txt                   a step from a curl command in API docs
    callout run wf.yaml --trigger payload.json    record a run and execute it here
    callout run wf.yaml --detach                  record it; a worker executes it
    callout worker                                execute due work until SIGTERM
    callout runs list | show ID | resume ID       recorded runs
    callout db upgrade                            apply migrations
    callout db prune [--dry-run]                  remove what is past retention, now
    callout db backup PATH | check PATH           copy a live SQLite store; check a copy
    callout verify --secret S --header H --body-file F   check a signature
    callout receiver --port 8443 --secret S       a local HTTPS endpoint to try workflows on
    """  # noqa: D301  # click reads \b as "keep these lines as written"


def main() -> None:
    """Entry point of the console script."""
    cli()
