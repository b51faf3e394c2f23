"""`callout --help` lists, one line each, what an operator runs: every command is named."""

from __future__ import annotations

import re

from click.testing import CliRunner

from callout.cli.main import COMMANDS, cli


def _listed() -> list[str]:
    """The help's lines that show a command (`callout ...`), without their description."""
    text = CliRunner().invoke(cli, ["--help"], prog_name="callout").output
    return [line.strip() for line in text.splitlines() if line.strip().startswith("callout ")]


def test_every_command_has_a_line() -> None:
    named = {line.split()[1] for line in _listed()}
    assert set(COMMANDS) <= named


def test_the_retention_and_backup_commands_are_listed() -> None:
    lines = _listed()

    def line_of(start: str) -> str:
        [found] = [line for line in lines if line.startswith(start)]
        return found

    assert re.search(r"\bcheck PATH\b", line_of("callout db backup PATH"))
    assert "--dry-run" in line_of("callout db prune")
    assert "--days" in line_of("callout orgs retention ORG")
    assert line_of("callout import-curl")
