"""`callout hosts`: an organization's per-host limits and paused hosts, for the operator.

The same records and rules as `/v1/host-limits` and `/v1/hosts`
(docs/delivery-control.md), straight on the database. Workers read a changed
limit within a second.
"""

from __future__ import annotations

import json
from typing import Any

import click

from callout.cli.org_store import json_option, refuse, with_org_store
from callout.cli.store_access import database_option
from callout.engine.host_views import host_limit_view, limit_for, listed_hosts, resumed_host
from callout.store.delivery import ANY_HOST, HostLimit
from callout.store.host_limit_rules import (
    MAX_BREAKER_FAILURES,
    MAX_BREAKER_PAUSE_SETTING,
    MAX_BURST,
    MAX_IN_FLIGHT,
    MAX_RATE,
    MIN_BREAKER_PAUSE,
    host_limit_problems,
)
from callout.store.sql_store import SqlStore

CLI_NAMES = {
    "host": "HOST",
    "max_in_flight": "--in-flight",
    "rate_per_second": "--rate",
    "burst": "--burst",
    "breaker_failures": "--breaker-failures",
    "breaker_pause_seconds": "--breaker-pause",
}
"""What the command calls each field of a limit, for its problems."""


def limit_text(view: dict[str, Any]) -> str:
    """Say in a line what a limit row (`host_limit_view`) does."""
    parts = []
    if view["max_in_flight"] is not None:
        parts.append(f"at most {view['max_in_flight']} in flight")
    if view["rate_per_second"] is not None:
        burst = f" (burst {view['burst']})" if view["burst"] is not None else ""
        parts.append(f"{view['rate_per_second']:g}/s{burst}")
    if view["effective_breaker_failures"] == 0:
        parts.append("breaker off")
    else:
        parts.append(
            f"paused after {view['effective_breaker_failures']} failures for "
            f"{view['effective_breaker_pause_seconds']:g} s"
        )
    return ", ".join(parts)


def _host_line(view: dict[str, Any]) -> str:
    state = f"{view['breaker']:<9}"
    if view["next_probe_at"] is not None:
        state += f" next probe {view['next_probe_at']}"
    counts = (
        f"{view['consecutive_failures']} failures, {view['in_flight']} in flight, "
        f"{view['waiting']} waiting"
    )
    error = f", last error {view['last_error']}" if view["last_error"] else ""
    limit = view["limit"]
    applies = "no limit" if limit is None else limit_text(limit)
    if limit is not None and limit["host"] == ANY_HOST:
        applies += " (the * limit)"
    return f"{view['host']}  {state}  {counts}{error}; {applies}"


@click.group("hosts")
def hosts_group() -> None:
    """Manage an organization's per-host limits and paused hosts (the circuit breaker).

    \b
    callout hosts list org_01J...
    callout hosts limit org_01J... api.example.com --in-flight 5 --rate 10
    callout hosts resume org_01J... api.example.com
    """  # noqa: D301  # click reads \b as "keep these lines as written"


@hosts_group.command("list")
@click.argument("org_id")
@database_option
@json_option
def list_hosts(org_id: str, database: str | None, as_json: bool) -> None:
    """List the hosts callout knows for an organization, and its limits.

    A host is listed while its breaker has counted failures or is open, while
    requests to it are in flight or waiting, or when it has a limit of its own.

    \b
    Example:
      callout hosts list org_01J... --json
    """  # noqa: D301

    async def read(store: SqlStore) -> tuple[list[dict[str, Any]], list[HostLimit]]:
        return (
            await listed_hosts(store.delivery, org_id=org_id),
            await store.delivery.host_limits(org_id=org_id),
        )

    hosts, limits = with_org_store(database, org_id, read)
    if as_json:
        click.echo(
            json.dumps({"hosts": hosts, "host_limits": [host_limit_view(x) for x in limits]})
        )
        return
    for view in hosts:
        click.echo(_host_line(view))
    every = limit_for(ANY_HOST, limits)
    if every is not None:
        click.echo(
            f"* (every host without a limit of its own): {limit_text(host_limit_view(every))}"
        )
    if not hosts and every is None:
        click.echo("no hosts: nothing limited, nothing paused")


@hosts_group.command("limit")
@click.argument("org_id")
@click.argument("host")
@click.option(
    "--in-flight", type=int, help=f"Requests in flight to the host at once (1-{MAX_IN_FLIGHT})."
)
@click.option("--rate", type=float, help=f"Requests started per second (up to {MAX_RATE:g}).")
@click.option(
    "--burst",
    type=int,
    help=f"Requests the rate lets go at once after an idle spell (1-{MAX_BURST}; default 1).",
)
@click.option(
    "--breaker-failures",
    type=int,
    help=f"Consecutive failures that pause the host (0-{MAX_BREAKER_FAILURES}; 0: breaker "
    "off; default 5).",
)
@click.option(
    "--breaker-pause",
    type=float,
    metavar="SECONDS",
    help=f"Seconds a paused host waits before its first probe ({MIN_BREAKER_PAUSE:g}-"
    f"{MAX_BREAKER_PAUSE_SETTING:g}; default 30).",
)
@database_option
@json_option
def limit_host(
    org_id: str,
    host: str,
    in_flight: int | None,
    rate: float | None,
    burst: int | None,
    breaker_failures: int | None,
    breaker_pause: float | None,
    database: str | None,
    as_json: bool,
) -> None:
    """Show or set a host's limits (HOST `*`: every host without a limit of its own).

    The options given make the host's whole limit: one left out goes back to its
    default (no limit; the breaker pauses after 5 failures for 30 s). Without
    options it shows the host's limit.

    \b
    Example:
      callout hosts limit org_01J... api.example.com --in-flight 5 --rate 10 --burst 20
    """  # noqa: D301
    wanted, problems = host_limit_problems(
        HostLimit(
            org_id=org_id,
            host=host,
            max_in_flight=in_flight,
            rate_per_second=rate,
            burst=burst,
            breaker_failures=breaker_failures,
            breaker_pause=breaker_pause,
        ),
        names=CLI_NAMES,
    )
    if problems:
        refuse(problems)
    show = all(v is None for v in (in_flight, rate, burst, breaker_failures, breaker_pause))

    async def apply(store: SqlStore) -> HostLimit | None:
        if not show:
            return await store.delivery.set_host_limit(wanted)
        limits = await store.delivery.host_limits(org_id=org_id)
        return next((x for x in limits if x.host == wanted.host), None)

    limit = with_org_store(database, org_id, apply)
    view = host_limit_view(limit) if limit is not None else None
    if as_json:
        click.echo(json.dumps(view))
    elif view is None:
        click.echo(f"{wanted.host} has no limit of its own")
    else:
        click.echo(f"{wanted.host}: {limit_text(view)}")


@hosts_group.command("unlimit")
@click.argument("org_id")
@click.argument("host")
@database_option
def unlimit_host(org_id: str, host: str, database: str | None) -> None:
    """Remove a host's limits: the `*` limit (or none) applies to it again.

    \b
    Example:
      callout hosts unlimit org_01J... api.example.com
    """  # noqa: D301
    checked, problems = host_limit_problems(HostLimit(org_id=org_id, host=host), names=CLI_NAMES)
    if problems:
        refuse(problems)
    with_org_store(
        database,
        org_id,
        lambda store: store.delivery.delete_host_limit(org_id=org_id, host=checked.host),
    )
    click.echo(f"{checked.host}: limit removed")


@hosts_group.command("resume")
@click.argument("org_id")
@click.argument("host")
@database_option
@json_option
def resume_host(org_id: str, host: str, database: str | None, as_json: bool) -> None:
    """Resume a paused host now: close its breaker; its waiting step runs are due at once.

    \b
    Example:
      callout hosts resume org_01J... api.example.com
    """  # noqa: D301
    checked, problems = host_limit_problems(HostLimit(org_id=org_id, host=host), names=CLI_NAMES)
    if problems:
        refuse(problems)
    view = with_org_store(
        database,
        org_id,
        lambda store: resumed_host(store.delivery, org_id=org_id, host=checked.host),
    )
    if as_json:
        click.echo(json.dumps(view))
        return
    click.echo(f"{checked.host} resumed: breaker {view['breaker']}; waiting step runs are due now")
