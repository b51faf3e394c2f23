"""`callout orgs` and `callout keys`: organizations, plans and API keys, for the operator.

These talk to the store directly (the operator's side of the service): an
organization's first API key is how anyone reaches the API at all. A key
revoked here stops passing in running API processes within a second (their
key cache keeps an answer at most that long).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from callout.cli.store_access import database_option, opened_store
from callout.model.clock import SystemClock
from callout.model.plans import Plan
from callout.model.timestamps import iso_utc
from callout.store.account_records import AccountRecords, ApiKeyInfo, Organization
from callout.store.encryption import new_key_text
from callout.store.protocol import NotFoundError
from callout.store.retention import Retention, retention_problems
from callout.store.sql_store import SqlStore

T = TypeVar("T")
EXIT_NOT_FOUND = 1
PLANS = click.Choice([plan.value for plan in Plan])
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def _with_store(database: str | None, action: Callable[[SqlStore], Awaitable[T]]) -> T:
    async def run() -> T:
        async with opened_store(database) as store:
            return await action(store)

    try:
        return asyncio.run(run())
    except NotFoundError as exc:
        click.echo(str(exc), err=True)
        sys.exit(EXIT_NOT_FOUND)


def _org_json(org: Organization) -> dict[str, Any]:
    return {
        "id": org.id,
        "name": org.name,
        "plan": org.plan.value,
        "created_at": iso_utc(org.created_at),
    }


def _key_json(info: ApiKeyInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "org_id": info.org_id,
        "name": info.name,
        "prefix": info.prefix,
        "created_at": iso_utc(info.created_at),
        "last_used_at": iso_utc(info.last_used_at) if info.last_used_at else None,
        "revoked_at": iso_utc(info.revoked_at) if info.revoked_at else None,
    }


@click.group("orgs")
def orgs_group() -> None:
    """Create organizations, list them, change their plan."""


@orgs_group.command("create")
@click.argument("name")
@click.option("--plan", type=PLANS, default=Plan.GROWTH.value, show_default=True)
@database_option
@json_option
def create_org(name: str, plan: str, database: str | None, as_json: bool) -> None:
    """Create an organization and print its first API key (shown this once)."""
    if not name.strip() or len(name) > 200:
        click.echo("the name must be 1 to 200 characters", err=True)
        sys.exit(2)
    now = SystemClock().now()
    org, key = _with_store(
        database,
        lambda store: store.accounts.create_organization(
            name=name.strip(), plan=Plan(plan), now=now
        ),
    )
    if as_json:
        click.echo(
            json.dumps({"organization": _org_json(org), "api_key": key.key, "key_id": key.info.id})
        )
        return
    click.echo(f"organization {org.id} ({org.name}, plan {org.plan.value})")
    click.echo(f"API key (shown once, keep it safe): {key.key}")


@orgs_group.command("list")
@database_option
@json_option
def list_orgs(database: str | None, as_json: bool) -> None:
    """List organizations."""
    found = _with_store(database, lambda store: store.accounts.list_organizations())
    if as_json:
        click.echo(json.dumps([_org_json(org) for org in found]))
        return
    for org in found:
        click.echo(f"{org.id}  {org.plan.value:<10}  {org.name}")


@orgs_group.command("plan")
@click.argument("org_id")
@click.argument("plan", type=PLANS)
@database_option
def change_plan(org_id: str, plan: str, database: str | None) -> None:
    """Move an organization to another plan (startup, essential, growth, enterprise).

    On a plan without the Make HTTPS Request step, its published workflows that
    use the step stop starting runs (each refused trigger call is recorded).
    """
    now = SystemClock().now()
    org = _with_store(
        database, lambda store: store.accounts.set_plan(org_id=org_id, plan=Plan(plan), now=now)
    )
    click.echo(f"organization {org.id} is on the {org.plan.value} plan")


def _body_days(text: str | None) -> int | str | None:
    """Read `--body-days`: a number of days, or `same` (as long as the runs); None: unchanged."""
    if text is None or text == "same":
        return text
    try:
        return int(text)
    except ValueError:
        click.echo(f"--body-days: expected a number of days or `same`, got {text!r}", err=True)
        sys.exit(2)


def _retention_text(retention: Retention) -> str:
    if retention.removes_bodies_early:
        bodies = f"their bodies {retention.bodies_days} days"
    else:
        bodies = "their bodies as long"
    default = " (the default)" if retention.days is None else ""
    return f"keeps runs {retention.run_days} days{default}, {bodies}"


async def _set_retention(
    accounts_store: SqlStore, org_id: str, days: int | None, body_days: int | str | None
) -> Retention:
    records = accounts_store.retention
    current = await records.get_retention(org_id=org_id)  # NotFoundError for an unknown org
    if days is None and body_days is None:
        return current
    wanted = Retention(
        days=days if days is not None else current.days,
        body_days=current.body_days
        if body_days is None
        else None
        if body_days == "same"
        else int(body_days),
    )
    problems = retention_problems(wanted, names=("--days", "--body-days"))
    if problems:
        for problem in problems:
            click.echo(str(problem), err=True)
        sys.exit(2)
    return await records.set_retention(org_id=org_id, retention=wanted, now=SystemClock().now())


@orgs_group.command("retention")
@click.argument("org_id")
@click.option("--days", type=int, help="Days runs and trigger call records are kept (1-3650).")
@click.option(
    "--body-days",
    metavar="DAYS|same",
    help="Days bodies are kept (0 to --days): trigger payloads, request and response "
    "bodies, step outputs. `same`: as long as the runs.",
)
@database_option
@json_option
def retention_command(
    org_id: str, days: int | None, body_days: str | None, database: str | None, as_json: bool
) -> None:
    """Show or set how long an organization keeps its runs and their bodies.

    \b
    Without options it shows the setting. Workers prune what is past it every
    CALLOUT_PRUNE_EVERY seconds (600); `callout db prune --dry-run` says what
    would go now. Trigger idempotency keys expire after 24 hours regardless.
    """  # noqa: D301
    wanted = _body_days(body_days)
    retention = _with_store(database, lambda store: _set_retention(store, org_id, days, wanted))
    if as_json:
        click.echo(
            json.dumps(
                {
                    "org_id": org_id,
                    "retention_days": retention.run_days,
                    "body_retention_days": retention.body_days,
                }
            )
        )
        return
    click.echo(f"organization {org_id} {_retention_text(retention)}")


@click.group("keys")
def keys_group() -> None:
    """Make, list and revoke an organization's API keys."""


@keys_group.command("create")
@click.argument("org_id")
@click.option("--name", default="key", show_default=True, help="What the key is for.")
@database_option
@json_option
def create_key(org_id: str, name: str, database: str | None, as_json: bool) -> None:
    """Make an API key for an organization (shown this once)."""
    now = SystemClock().now()
    made = _with_store(
        database, lambda store: store.accounts.create_api_key(org_id=org_id, name=name, now=now)
    )
    if as_json:
        click.echo(json.dumps({"api_key": made.key, "key": _key_json(made.info)}))
        return
    click.echo(f"API key {made.info.id} (shown once, keep it safe): {made.key}")


async def _keys_of(accounts: AccountRecords, *, org_id: str) -> list[ApiKeyInfo]:
    await accounts.get_organization(org_id=org_id)  # NotFoundError for an unknown organization
    return await accounts.list_api_keys(org_id=org_id)


@keys_group.command("list")
@click.argument("org_id")
@database_option
@json_option
def list_keys(org_id: str, database: str | None, as_json: bool) -> None:
    """List an organization's API keys (never the keys themselves)."""
    found = _with_store(database, lambda store: _keys_of(store.accounts, org_id=org_id))
    if as_json:
        click.echo(json.dumps([_key_json(info) for info in found]))
        return
    for info in found:
        state = "revoked" if info.revoked_at else "active"
        click.echo(f"{info.id}  {info.prefix}…  {state:<8} {info.name}")


@keys_group.command("revoke")
@click.argument("key_id")
@database_option
def revoke_key(key_id: str, database: str | None) -> None:
    """Revoke an API key at once."""
    now = SystemClock().now()
    info = _with_store(
        database, lambda store: store.accounts.revoke_api_key(key_id=key_id, now=now)
    )
    click.echo(f"API key {info.id} revoked")


@click.command("keygen")
def keygen_command() -> None:
    """Print a new CALLOUT_SECRET_KEY (the key that encrypts stored secrets)."""
    click.echo(new_key_text())
