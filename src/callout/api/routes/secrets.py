"""Secrets: write-only values, encrypted at rest; listed and shown by name and metadata.

A secret is `text` (any value) or a `certificate`: PEM text holding a client
certificate (and its chain) and its unencrypted private key, for mutual TLS.
A certificate's value is read when stored (every problem named, nothing of it
quoted), and its subject and expiry are shown; the key never is.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from callout.api.auth import CallerDep
from callout.api.context import context_of
from callout.api.errors import ERROR_RESPONSES, ApiError
from callout.http.certificate_pem import (
    CertificateFacts,
    CertificatePemError,
    certificate_facts,
    read_certificate_pem,
)
from callout.model.errors import Problem
from callout.model.timestamps import iso_utc
from callout.store.account_records import (
    DEFAULT_ROTATION_GRACE,
    MAX_ROTATION_GRACE,
    SecretInfo,
    SecretKind,
)
from callout.store.encryption import SecretKeyError
from callout.store.protocol import ConflictError

router = APIRouter(prefix="/v1/secrets", tags=["Secrets"], responses=ERROR_RESPONSES)

NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
MAX_VALUE_BYTES = 16 * 1024
NamePath = Annotated[str, Path(min_length=1, max_length=64, pattern=NAME_PATTERN)]


class CertificateOut(BaseModel):
    """What may be shown of a certificate secret: never its key."""

    model_config = ConfigDict(extra="forbid")
    subject: str = Field(description="The client certificate's subject (RFC 4514)")
    not_after: str = Field(description="When the client certificate expires (UTC)")


class SecretOut(BaseModel):
    """A secret's metadata. The value is write-only: no endpoint returns it."""

    model_config = ConfigDict(extra="forbid")
    id: str
    name: str
    kind: SecretKind = Field(
        description="`text` (any value) or `certificate` (PEM client certificate and key)"
    )
    version: int = Field(description="1, then one more at each rotation")
    created_at: str
    updated_at: str
    previous_signs_until: str | None = Field(
        description="While set, the previous value still signs beside the new one"
    )
    certificate: CertificateOut | None = Field(
        default=None, description="For a certificate: its subject and expiry; null for text"
    )


def _at_most_16_kib(value: str) -> str:
    if len(value.encode()) > MAX_VALUE_BYTES:
        raise ValueError(f"must be at most {MAX_VALUE_BYTES} bytes in UTF-8")
    return value


SecretValue = Annotated[
    str,
    Field(min_length=1, max_length=MAX_VALUE_BYTES, repr=False),
    AfterValidator(_at_most_16_kib),
]


def certificate_problem(value: str) -> str | None:
    """Say what makes `value` unusable as a certificate secret (every problem), or None."""
    try:
        read_certificate_pem(value)
    except CertificatePemError as exc:
        return f"not a usable client certificate: {exc}"
    return None


class NewSecretIn(BaseModel):
    """A secret to store."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64, pattern=NAME_PATTERN)
    kind: SecretKind = Field(
        default="text",
        description="`certificate`: the value is PEM text holding a client certificate "
        "(optionally its chain) and its unencrypted private key, checked when stored",
    )
    value: SecretValue

    @field_validator("value")
    @classmethod
    def _a_certificate_is_one(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("kind") == "certificate":
            problem = certificate_problem(value)
            if problem is not None:
                raise ValueError(problem)
        return value


class RotateIn(BaseModel):
    """A secret's new value, and how long its previous value keeps signing."""

    model_config = ConfigDict(extra="forbid")
    value: SecretValue
    grace_seconds: float = Field(
        default=DEFAULT_ROTATION_GRACE,
        ge=0,
        le=MAX_ROTATION_GRACE,
        description="Seconds the previous value keeps signing (default 24 h; 0 stops it at once)",
    )


def _out(info: SecretInfo, facts: CertificateFacts | None = None) -> SecretOut:
    return SecretOut(
        id=info.id,
        name=info.name,
        kind=info.kind,
        version=info.version,
        created_at=iso_utc(info.created_at),
        updated_at=iso_utc(info.updated_at),
        previous_signs_until=(
            iso_utc(info.previous_until) if info.previous_until is not None else None
        ),
        certificate=(
            CertificateOut(subject=facts.subject, not_after=iso_utc(facts.not_after.timestamp()))
            if facts is not None
            else None
        ),
    )


async def _facts(
    request: Request, org_id: str, infos: list[SecretInfo]
) -> dict[str, CertificateFacts]:
    """Read the subject and expiry of the certificate secrets among `infos`.

    They are read from the stored values (decrypted here, never returned): the
    certificate is public, and no column keeps its facts. Without the right
    secret key they are left out rather than failing the listing.
    """
    wanted = {info.name for info in infos if info.kind == "certificate"}
    if not wanted:
        return {}
    context = context_of(request)
    try:
        values = await context.store.accounts.secret_values(
            context.cipher, org_id=org_id, now=context.clock.now()
        )
    except SecretKeyError:
        return {}
    found: dict[str, CertificateFacts] = {}
    for name in wanted:
        facts = certificate_facts(values.current.get(name, ""))
        if facts is not None:
            found[name] = facts
    return found


@router.get("", summary="List secrets (names and metadata only)")
async def list_all(caller: CallerDep, request: Request) -> list[SecretOut]:
    """Return the organization's secrets by name."""
    context = context_of(request)
    found = await context.store.accounts.list_secrets(org_id=caller.org.id, now=context.clock.now())
    facts = await _facts(request, caller.org.id, found)
    return [_out(info, facts.get(info.name)) for info in found]


@router.post("", status_code=201, summary="Store a secret")
async def create(body: NewSecretIn, caller: CallerDep, request: Request) -> SecretOut:
    """Store a secret, encrypted; its value is never returned."""
    context = context_of(request)
    info = await context.store.accounts.create_secret(
        context.cipher,
        org_id=caller.org.id,
        name=body.name,
        value=body.value,
        now=context.clock.now(),
        kind=body.kind,
    )
    return _out(info, certificate_facts(body.value) if body.kind == "certificate" else None)


@router.get("/{name}", summary="A secret's metadata")
async def get_one(name: NamePath, caller: CallerDep, request: Request) -> SecretOut:
    """Return one secret's metadata."""
    context = context_of(request)
    info = await context.store.accounts.get_secret(
        org_id=caller.org.id, name=name, now=context.clock.now()
    )
    facts = await _facts(request, caller.org.id, [info])
    return _out(info, facts.get(info.name))


@router.post("/{name}/rotate", summary="Rotate a secret")
async def rotate(name: NamePath, body: RotateIn, caller: CallerDep, request: Request) -> SecretOut:
    """Give a secret a new value of its kind; the previous one signs for `grace_seconds`.

    A certificate's new value is checked as on creation (422 naming every problem).
    """
    context = context_of(request)
    current = await context.store.accounts.get_secret(
        org_id=caller.org.id, name=name, now=context.clock.now()
    )
    if current.kind == "certificate":
        problem = certificate_problem(body.value)
        if problem is not None:
            raise ApiError(
                422,
                "invalid_request",
                "the request has 1 problem(s)",
                [Problem("body.value", problem)],
            )
    info = await context.store.accounts.rotate_secret(
        context.cipher,
        org_id=caller.org.id,
        name=name,
        value=body.value,
        grace=body.grace_seconds,
        now=context.clock.now(),
    )
    return _out(info, certificate_facts(body.value) if info.kind == "certificate" else None)


@router.delete("/{name}", status_code=204, summary="Delete a secret")
async def delete(name: NamePath, caller: CallerDep, request: Request) -> Response:
    """Delete a secret; runs that reference it fail to resolve it from then on.

    A notification endpoint's signing secret is refused (409): removing the endpoint
    removes it (docs/run-events.md).
    """
    store = context_of(request).store
    for endpoint in await store.run_events.list_endpoints(org_id=caller.org.id):
        if endpoint.secret_name == name:
            raise ConflictError(
                f"secret {name} signs notification endpoint {endpoint.name!r} "
                f"({endpoint.id}); remove the endpoint instead"
            )
    await store.accounts.delete_secret(org_id=caller.org.id, name=name)
    return Response(status_code=204)
