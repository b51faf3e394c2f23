"""Operator commands on one organization's records (`callout hosts`, `callout endpoints`).

Each opens the store (`--database`), checks the organization exists, does one
thing, and exits with the codes the other operator commands use: 1 for an
unknown organization or record or a taken name, 2 for invalid input or a store
that cannot be opened.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import NoReturn, TypeVar

import click

from callout.cli.store_access import opened_store
from callout.model.errors import Problem
from callout.store.protocol import ConflictError, NotFoundError
from callout.store.sql_store import SqlStore

T = TypeVar("T")

EXIT_NOT_FOUND = 1
"""An unknown organization or record, or a name already taken."""

EXIT_INVALID = 2
"""Invalid input (each problem is printed on its own line)."""

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def refuse(problems: Sequence[Problem]) -> NoReturn:
    """Print every problem on stderr and exit 2."""
    for problem in problems:
        click.echo(str(problem), err=True)
    sys.exit(EXIT_INVALID)


def with_org_store(
    database: str | None, org_id: str, action: Callable[[SqlStore], Awaitable[T]]
) -> T:
    """Run `action` on the store once `org_id` is known to exist; exit 1 when it is not."""

    async def run() -> T:
        async with opened_store(database) as store:
            await store.accounts.get_organization(org_id=org_id)
            return await action(store)

    try:
        return asyncio.run(run())
    except (NotFoundError, ConflictError) as exc:
        click.echo(str(exc), err=True)
        sys.exit(EXIT_NOT_FOUND)
