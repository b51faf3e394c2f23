"""Commands are imported only when they run: `callout validate` does not load the web stack."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

from callout.cli.main import COMMANDS, cli

EXAMPLE = Path(__file__).parents[3] / "examples" / "create-user.yaml"


def test_every_listed_command_resolves_to_a_command_of_that_name() -> None:
    for name in COMMANDS:
        command = cli.get_command(click.Context(cli), name)
        assert command is not None
        assert command.name == name


def test_an_unknown_command_is_refused_by_name() -> None:
    result = CliRunner().invoke(cli, ["nope"])
    assert result.exit_code == 2
    assert "No such command 'nope'" in result.output


def test_validate_runs_without_importing_the_api_or_the_store() -> None:
    probe = (
        "import sys\n"
        "from callout.cli.main import cli\n"
        f"try:\n    cli(['validate', {str(EXAMPLE)!r}])\n"
        "except SystemExit as exc:\n    code = exc.code\n"
        "print(code, 'fastapi' in sys.modules, 'sqlalchemy' in sys.modules)\n"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines()[-1] == "0 False False"
