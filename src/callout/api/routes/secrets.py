"""Secrets: write-only values, encrypted at rest; listed and shown by name and metadata."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from callout.api.auth import CallerDep
from callout.api.context import context_of
from callout.api.errors import ERROR_RESPONSES
from callout.model.timestamps import iso_utc
from callout.store.account_records import (
    DEFAULT_ROTATION_GRACE,
    MAX_ROTATION_GRACE,
    SecretInfo,
)

router = APIRouter(prefix="/v1/secrets", tags=["Secrets"], responses=ERROR_RESPONSES)

NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
MAX_VALUE_BYTES = 16 * 1024
NamePath = Annotated[str, Path(min_length=1, max_length=64, pattern=NAME_PATTERN)]


class SecretOut(BaseModel):
    """A secret's metadata. The value is write-only: no endpoint returns it."""

    model_config = ConfigDict(extra="forbid")
    id: str
    name: str
    version: int = Field(description="1, then one more at each rotation")
    created_at: str
    updated_at: str
    previous_signs_until: str | None = Field(
        description="While set, the previous value still signs beside the new one"
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


class NewSecretIn(BaseModel):
    """A secret to store."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64, pattern=NAME_PATTERN)
    value: SecretValue


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


def _out(info: SecretInfo) -> SecretOut:
    return SecretOut(
        id=info.id,
        name=info.name,
        version=info.version,
        created_at=iso_utc(info.created_at),
        updated_at=iso_utc(info.updated_at),
        previous_signs_until=(
            iso_utc(info.previous_until) if info.previous_until is not None else None
        ),
    )


@router.get("", summary="List secrets (names and metadata only)")
async def list_all(caller: CallerDep, request: Request) -> list[SecretOut]:
    """Return the organization's secrets by name."""
    context = context_of(request)
    found = await context.store.accounts.list_secrets(org_id=caller.org.id, now=context.clock.now())
    return [_out(info) for info in found]


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
    )
    return _out(info)


@router.get("/{name}", summary="A secret's metadata")
async def get_one(name: NamePath, caller: CallerDep, request: Request) -> SecretOut:
    """Return one secret's metadata."""
    context = context_of(request)
    info = await context.store.accounts.get_secret(
        org_id=caller.org.id, name=name, now=context.clock.now()
    )
    return _out(info)


@router.post("/{name}/rotate", summary="Rotate a secret")
async def rotate(name: NamePath, body: RotateIn, caller: CallerDep, request: Request) -> SecretOut:
    """Give a secret a new value; the previous one signs beside it for `grace_seconds`."""
    context = context_of(request)
    info = await context.store.accounts.rotate_secret(
        context.cipher,
        org_id=caller.org.id,
        name=name,
        value=body.value,
        grace=body.grace_seconds,
        now=context.clock.now(),
    )
    return _out(info)


@router.delete("/{name}", status_code=204, summary="Delete a secret")
async def delete(name: NamePath, caller: CallerDep, request: Request) -> Response:
    """Delete a secret; runs that reference it fail to resolve it from then on."""
    await context_of(request).store.accounts.delete_secret(org_id=caller.org.id, name=name)
    return Response(status_code=204)
