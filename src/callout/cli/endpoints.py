"""`callout endpoints`: where an organization is told of failed runs, paused hosts and more.

The same records and rules as `/v1/notification-endpoints` (docs/run-events.md),
straight on the database. Adding an endpoint stores its signing secret as an
organization secret, so it needs the secret key the workers use
(`CALLOUT_SECRET_KEY`, or the key file `callout serve` made).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from callout.cli.org_store import EXIT_INVALID, json_option, refuse, with_org_store
from callout.cli.store_access import database_option
from callout.cli.validate import allow_http_from_env
from callout.engine.notification_endpoints import (
    EVENTS,
    FORMATS,
    EndpointRequest,
    NewEndpoint,
    check_endpoint,
    create_endpoint,
    endpoint_view,
    remove_endpoint,
    update_endpoint,
)
from callout.model.clock import SystemClock
from callout.store.encryption import SecretCipher, SecretKeyError, load_secret_key
from callout.store.sql_store import SqlStore

CLI_NAMES = {
    "name": "NAME",
    "url": "URL",
    "events": "--event",
    "format": "--format",
    "enabled": "--enable/--disable",
}
"""What the commands call each field of an endpoint, for its problems."""

event_option = click.option(
    "--event",
    "events",
    multiple=True,
    metavar="EVENT",
    help=f"An event to send (repeat for more): {', '.join(EVENTS)}.",
)
format_option = click.option(
    "--format",
    "body_format",
    metavar="|".join(FORMATS),
    help="callout: the event as JSON; slack: a Slack incoming-webhook body.",
)


def _line(view: dict[str, Any]) -> str:
    state = "enabled " if view["enabled"] else "disabled"
    return (
        f"{view['id']}  {state}  {view['name']}  {view['url']}  "
        f"{','.join(view['events'])}  ({view['format']})"
    )


def _cipher() -> SecretCipher:
    try:
        return load_secret_key(os.environ).cipher
    except SecretKeyError as exc:
        click.echo(f"cannot store the signing secret: {exc}", err=True)
        sys.exit(EXIT_INVALID)


@click.group("endpoints")
def endpoints_group() -> None:
    """Manage an organization's notification endpoints: signed requests about its runs.

    \b
    callout endpoints list org_01J...
    callout endpoints add org_01J... "Ops alerts" https://hooks.example.com/callout \\
        --event run.failed --event host.paused
    callout endpoints update org_01J... ntf_01J... --disable
    callout endpoints remove org_01J... ntf_01J...
    """  # noqa: D301  # click reads \b as "keep these lines as written"


@endpoints_group.command("list")
@click.argument("org_id")
@database_option
@json_option
def list_endpoints(org_id: str, database: str | None, as_json: bool) -> None:
    """List an organization's notification endpoints (never their secrets' values).

    \b
    Example:
      callout endpoints list org_01J... --json
    """  # noqa: D301

    async def read(store: SqlStore) -> list[dict[str, Any]]:
        found = await store.run_events.list_endpoints(org_id=org_id)
        if not found:
            return []
        workflow_id = await store.run_events.system_workflow_id(org_id=org_id)
        return [endpoint_view(endpoint, workflow_id=workflow_id) for endpoint in found]

    views = with_org_store(database, org_id, read)
    if as_json:
        click.echo(json.dumps(views))
        return
    for view in views:
        click.echo(_line(view))
    if not views:
        click.echo("no notification endpoints")


@endpoints_group.command("add")
@click.argument("org_id")
@click.argument("name")
@click.argument("url")
@event_option
@format_option
@database_option
@json_option
def add_endpoint(
    org_id: str,
    name: str,
    url: str,
    events: tuple[str, ...],
    body_format: str | None,
    database: str | None,
    as_json: bool,
) -> None:
    """Add an endpoint and print its signing secret (shown this once).

    Its requests are signed like any step's (Persona-Signature) with the secret,
    kept as an organization secret named run_events_...; rotate it like any secret.

    \b
    Example:
      callout endpoints add org_01J... "Ops alerts" https://hooks.slack.com/services/T/B/X \\
          --event run.failed --event host.paused --format slack
    """  # noqa: D301
    wanted, problems = check_endpoint(
        EndpointRequest(name=name, url=url, events=events, body_format=body_format),
        allow_http=allow_http_from_env(),
        creating=True,
        names=CLI_NAMES,
    )
    if problems:
        refuse(problems)
    cipher = _cipher()

    async def add(store: SqlStore) -> NewEndpoint:
        return await create_endpoint(
            store, cipher, org_id=org_id, wanted=wanted, now=SystemClock().now()
        )

    made = with_org_store(database, org_id, add)
    view = endpoint_view(made.endpoint, workflow_id=made.workflow_id)
    if as_json:
        click.echo(json.dumps({**view, "signing_secret": made.signing_secret}))
        return
    click.echo(f"endpoint {_line(view)}")
    click.echo(f"signing secret (shown once, keep it safe): {made.signing_secret}")
    click.echo(f"kept as the organization secret {view['secret_name']}")


@endpoints_group.command("update")
@click.argument("org_id")
@click.argument("endpoint_id")
@click.option("--name", help="A new name.")
@click.option("--url", help="A new URL.")
@event_option
@format_option
@click.option("--enable/--disable", "enabled", default=None, help="Send to it, or stop.")
@database_option
@json_option
def update_command(
    org_id: str,
    endpoint_id: str,
    name: str | None,
    url: str | None,
    events: tuple[str, ...],
    body_format: str | None,
    enabled: bool | None,
    database: str | None,
    as_json: bool,
) -> None:
    """Change an endpoint; what is not given stays (--event replaces the whole list).

    \b
    Example:
      callout endpoints update org_01J... ntf_01J... --event run.failed --disable
    """  # noqa: D301
    changes, problems = check_endpoint(
        EndpointRequest(
            name=name,
            url=url,
            events=events or None,
            body_format=body_format,
            enabled=enabled,
        ),
        allow_http=allow_http_from_env(),
        names=CLI_NAMES,
    )
    if problems:
        refuse(problems)

    async def update(store: SqlStore) -> dict[str, Any]:
        endpoint = await update_endpoint(
            store, org_id=org_id, endpoint_id=endpoint_id, changes=changes
        )
        workflow_id = await store.run_events.system_workflow_id(org_id=org_id)
        return endpoint_view(endpoint, workflow_id=workflow_id)

    view = with_org_store(database, org_id, update)
    click.echo(json.dumps(view) if as_json else f"endpoint {_line(view)}")


@endpoints_group.command("remove")
@click.argument("org_id")
@click.argument("endpoint_id")
@database_option
def remove_command(org_id: str, endpoint_id: str, database: str | None) -> None:
    """Remove an endpoint and its signing secret (the runs that told it stay).

    \b
    Example:
      callout endpoints remove org_01J... ntf_01J...
    """  # noqa: D301
    removed = with_org_store(
        database,
        org_id,
        lambda store: remove_endpoint(store, org_id=org_id, endpoint_id=endpoint_id),
    )
    click.echo(
        f"endpoint {removed.id} ({removed.name}) removed, with its secret {removed.secret_name}"
    )
