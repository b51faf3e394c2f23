"""Notification endpoints: checked, created with their signing secret, changed, removed.

The API (`/v1/notification-endpoints`) and the CLI (`callout endpoints`) both
go through here, so an endpoint is made one way. Making one:

1. a signing secret is generated and stored as an organization secret named
   `run_events_<10 hex digits>` (encrypted like every secret; shown once, to
   whoever made the endpoint; rotate it like any other secret);
2. the endpoint is recorded, naming that secret;
3. the organization's system workflow (whose runs are the notifications) is
   recorded if it is not yet.

Removing an endpoint removes its secret; the runs that told it stay.
An endpoint's URL follows a step's rules (https://, or http:// where the
operator allows plain HTTP; no credentials in it), and is a literal URL.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from callout.model.document import StepSpec
from callout.model.errors import Problem
from callout.model.timestamps import iso_utc
from callout.steps.https_request.config import check_config
from callout.store.account_records import AccountRecords
from callout.store.encryption import SecretCipher
from callout.store.protocol import ConflictError, NotFoundError
from callout.store.run_events import (
    Endpoint,
    EndpointChanges,
    EndpointFormat,
    EventType,
    RunEventRecords,
)
from callout.templates import ReferenceRules

MAX_NAME_LENGTH = 200
"""The longest endpoint name."""

SECRET_PREFIX = "run_events_"  # noqa: S105 - a name, not a secret
"""How the organization secrets that sign notifications are named (then 10 hex digits)."""

SIGNING_SECRET_BYTES = 32
"""Random bytes in a signing secret (shown URL-safe base64: 43 characters)."""

FIELDS = ("name", "url", "events", "format", "enabled")
"""An endpoint's fields as users write them; callers map each to their own name."""

EVENTS = tuple(event.value for event in EventType)
FORMATS = tuple(form.value for form in EndpointFormat)

_NO_REFERENCES = ReferenceRules(step_ids=(), current_step=None, response_schemas={})
_STEP = "notify"


class EndpointStore(Protocol):
    """What making and removing an endpoint needs of a store (`ServiceStore` has it)."""

    @property
    def accounts(self) -> AccountRecords:
        """Where the signing secret is kept."""
        ...

    @property
    def run_events(self) -> RunEventRecords:
        """Where the endpoint is recorded."""
        ...


@dataclass(frozen=True, slots=True)
class EndpointRequest:
    """An endpoint's fields as a user wrote them, unchecked (None: not given)."""

    name: str | None = None
    url: str | None = None
    events: tuple[str, ...] | None = None
    body_format: str | None = None
    enabled: bool | None = None


@dataclass(frozen=True, slots=True)
class NewEndpoint:
    """An endpoint just made, with its signing secret (shown this once)."""

    endpoint: Endpoint
    signing_secret: str = field(repr=False)
    workflow_id: str


def _url_problems(url: str, path: str, *, allow_http: bool) -> list[Problem]:
    if "{{" in url or "}}" in url:
        return [Problem(path, "must be a literal URL: it cannot hold {{ }} references")]
    spec = StepSpec(id=_STEP, action="make_https_request", config={"url": url})
    _, found = check_config(spec, _STEP, _NO_REFERENCES, allow_http=allow_http)
    # The step's own URL rules, and only them: the rest of the step is callout's.
    return [Problem(path, p.message) for p in found if p.path == f"{_STEP}.url"]


def _event_problems(events: tuple[str, ...], path: str) -> list[Problem]:
    if not events:
        return [Problem(path, f"must list at least one event: {', '.join(EVENTS)}")]
    problems = []
    for index, event in enumerate(events):
        here = f"{path}[{index}]"
        if event not in EVENTS:
            problems.append(Problem(here, f"is not an event; one of {', '.join(EVENTS)}"))
        elif event in events[:index]:
            problems.append(Problem(here, f"lists {event} a second time"))
    return problems


def _name_problem(name: str) -> str | None:
    if not name.strip():
        return "is required: 1 to 200 characters"
    if len(name) > MAX_NAME_LENGTH:
        return f"is longer than {MAX_NAME_LENGTH} characters"
    return None


def check_endpoint(
    request: EndpointRequest,
    *,
    allow_http: bool,
    creating: bool = False,
    names: Mapping[str, str] | None = None,
) -> tuple[EndpointChanges, list[Problem]]:
    """Check what a user asked for; return it typed, and every problem at once.

    `creating`: name, url and events are required. `names` maps each of `FIELDS` to
    what the caller calls it (API: `body.url`; CLI: `URL`, `--event`).
    """
    named = {name: name for name in FIELDS} | dict(names or {})
    problems: list[Problem] = []
    if creating:
        problems += [
            Problem(named[key], "is required")
            for key, value in (
                ("name", request.name),
                ("url", request.url),
                ("events", request.events),
            )
            if value is None
        ]
    if request.name is not None and (text := _name_problem(request.name)) is not None:
        problems.append(Problem(named["name"], text))
    if request.url is not None:
        problems += _url_problems(request.url, named["url"], allow_http=allow_http)
    if request.events is not None:
        problems += _event_problems(request.events, named["events"])
    if request.body_format is not None and request.body_format not in FORMATS:
        problems.append(Problem(named["format"], f"must be one of {', '.join(FORMATS)}"))
    if problems:
        return EndpointChanges(), problems
    return (
        EndpointChanges(
            name=request.name.strip() if request.name is not None else None,
            url=request.url,
            events=tuple(EventType(e) for e in request.events) if request.events else None,
            body_format=EndpointFormat(request.body_format) if request.body_format else None,
            enabled=request.enabled,
        ),
        [],
    )


def new_secret_name() -> str:
    """Return a fresh name for an endpoint's signing secret (a valid secret name)."""
    return f"{SECRET_PREFIX}{secrets.token_hex(5)}"


async def create_endpoint(
    store: EndpointStore,
    cipher: SecretCipher,
    *,
    org_id: str,
    wanted: EndpointChanges,
    now: float,
) -> NewEndpoint:
    """Make an endpoint from checked fields (name, url, events required), with its secret.

    ConflictError when the name is taken (then no secret is left behind).
    """
    if wanted.name is None or wanted.url is None or not wanted.events:
        raise ValueError("an endpoint needs a name, a URL and events (check_endpoint says so)")
    signing_secret = secrets.token_urlsafe(SIGNING_SECRET_BYTES)
    secret_name = new_secret_name()
    await store.accounts.create_secret(
        cipher, org_id=org_id, name=secret_name, value=signing_secret, now=now
    )
    try:
        endpoint = await store.run_events.create_endpoint(
            org_id=org_id,
            name=wanted.name,
            url=wanted.url,
            events=wanted.events,
            body_format=wanted.body_format or EndpointFormat.CALLOUT,
            secret_name=secret_name,
        )
    except (ConflictError, NotFoundError):
        await store.accounts.delete_secret(org_id=org_id, name=secret_name)
        raise
    workflow_id = await store.run_events.system_workflow_id(org_id=org_id)
    return NewEndpoint(endpoint=endpoint, signing_secret=signing_secret, workflow_id=workflow_id)


async def update_endpoint(
    store: EndpointStore, *, org_id: str, endpoint_id: str, changes: EndpointChanges
) -> Endpoint:
    """Change an endpoint (NotFoundError; ConflictError for a taken name); nothing: read it."""
    if changes == EndpointChanges():
        return await store.run_events.get_endpoint(org_id=org_id, endpoint_id=endpoint_id)
    return await store.run_events.update_endpoint(
        org_id=org_id, endpoint_id=endpoint_id, changes=changes
    )


async def remove_endpoint(store: EndpointStore, *, org_id: str, endpoint_id: str) -> Endpoint:
    """Remove an endpoint and its signing secret; return what it was. NotFoundError."""
    endpoint = await store.run_events.get_endpoint(org_id=org_id, endpoint_id=endpoint_id)
    await store.run_events.delete_endpoint(org_id=org_id, endpoint_id=endpoint_id)
    # An operator may have removed the secret already: the endpoint is what was asked.
    with contextlib.suppress(NotFoundError):
        await store.accounts.delete_secret(org_id=org_id, name=endpoint.secret_name)
    return endpoint


def endpoint_view(endpoint: Endpoint, *, workflow_id: str) -> dict[str, Any]:
    """Describe an endpoint (never its secret's value) for the API and the CLI."""
    return {
        "id": endpoint.id,
        "name": endpoint.name,
        "url": endpoint.url,
        "events": [event.value for event in endpoint.events],
        "format": endpoint.body_format.value,
        "enabled": endpoint.enabled,
        "secret_name": endpoint.secret_name,
        "workflow_id": workflow_id,
        "created_at": iso_utc(endpoint.created_at),
        "updated_at": iso_utc(endpoint.updated_at),
    }
