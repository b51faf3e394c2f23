"""The caller's organization, its API keys, and the actions its plan includes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from callout.api.auth import CallerDep
from callout.api.context import context_of
from callout.api.errors import ERROR_RESPONSES, ApiError
from callout.model.plans import Plan, plans_with
from callout.model.timestamps import iso_utc
from callout.steps.catalogue import ACTIONS
from callout.store.account_records import ApiKeyInfo, Organization
from callout.store.retention import MAX_RETENTION_DAYS, Retention, retention_problems

router = APIRouter(prefix="/v1", tags=["Organization"], responses=ERROR_RESPONSES)

KeyIdPath = Annotated[str, Path(max_length=64, pattern=r"^key_[0-9A-Z]+$")]


class ActionOut(BaseModel):
    """An action a step can take, and whether this organization's plan includes it."""

    model_config = ConfigDict(extra="forbid")
    name: str
    title: str
    category: str
    available: bool
    plans: list[Plan]


class OrganizationOut(BaseModel):
    """The organization the API key belongs to."""

    model_config = ConfigDict(extra="forbid")
    id: str
    name: str
    plan: Plan
    created_at: str
    actions: list[ActionOut]
    retention_days: int = Field(
        description="Days finished runs (with their attempts) and trigger call records are "
        "kept; then a worker deletes them"
    )
    body_retention_days: int | None = Field(
        description="Days bodies are kept (trigger payloads, request and response bodies, "
        "step outputs), the runs' records staying; null: as long as the runs"
    )


class OrganizationPatchIn(BaseModel):
    """What to change of the organization: its retention (a field left out stays)."""

    model_config = ConfigDict(extra="forbid")
    retention_days: int | None = Field(
        default=None,
        ge=1,
        le=MAX_RETENTION_DAYS,
        description="Days runs are kept (default 30); null: back to the default",
    )
    body_retention_days: int | None = Field(
        default=None,
        ge=0,
        le=MAX_RETENTION_DAYS,
        description="Days bodies are kept, at most `retention_days`; null: as long as the runs",
    )


class ApiKeyOut(BaseModel):
    """An API key, without the key itself (shown only when made)."""

    model_config = ConfigDict(extra="forbid")
    id: str
    name: str
    prefix: str
    created_at: str
    last_used_at: str | None
    revoked_at: str | None


class NewApiKeyIn(BaseModel):
    """A key to make."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)


class NewApiKeyOut(BaseModel):
    """A key just made: `key` is shown this once."""

    model_config = ConfigDict(extra="forbid")
    key: str
    api_key: ApiKeyOut


def actions_for(plan: Plan) -> list[ActionOut]:
    """Return every action with its availability on `plan`."""
    return [
        ActionOut(
            name=action.name,
            title=action.title,
            category=action.category,
            available=plan in plans_with(action.name),
            plans=list(plans_with(action.name)),
        )
        for action in ACTIONS.values()
    ]


def _key_out(info: ApiKeyInfo) -> ApiKeyOut:
    return ApiKeyOut(
        id=info.id,
        name=info.name,
        prefix=info.prefix,
        created_at=iso_utc(info.created_at),
        last_used_at=iso_utc(info.last_used_at) if info.last_used_at is not None else None,
        revoked_at=iso_utc(info.revoked_at) if info.revoked_at is not None else None,
    )


def _organization_out(org: Organization, retention: Retention) -> OrganizationOut:
    return OrganizationOut(
        id=org.id,
        name=org.name,
        plan=org.plan,
        created_at=iso_utc(org.created_at),
        actions=actions_for(org.plan),
        retention_days=retention.run_days,
        body_retention_days=retention.body_days,
    )


@router.get("/organization", summary="The caller's organization, plan and retention")
async def get_organization(caller: CallerDep, request: Request) -> OrganizationOut:
    """Return the organization of the API key, its plan, the actions it includes, its retention."""
    retention = await context_of(request).store.retention.get_retention(org_id=caller.org.id)
    return _organization_out(caller.org, retention)


@router.patch("/organization", summary="Change the organization's retention")
async def patch_organization(
    body: OrganizationPatchIn, caller: CallerDep, request: Request
) -> OrganizationOut:
    """Set how long runs and their bodies are kept (docs/ops/retention.md).

    Workers prune what is past it at their next pass (every 10 minutes by default).
    """
    context = context_of(request)
    records = context.store.retention
    current = await records.get_retention(org_id=caller.org.id)
    given = body.model_fields_set
    wanted = Retention(
        days=body.retention_days if "retention_days" in given else current.days,
        body_days=body.body_retention_days if "body_retention_days" in given else current.body_days,
    )
    problems = retention_problems(wanted, names=("body.retention_days", "body.body_retention_days"))
    if problems:
        raise ApiError(
            422, "invalid_request", f"the request has {len(problems)} problem(s)", problems
        )
    if wanted != current:
        current = await records.set_retention(
            org_id=caller.org.id, retention=wanted, now=context.clock.now()
        )
    return _organization_out(caller.org, current)


@router.get("/actions", summary="Actions a step can take")
async def list_actions(caller: CallerDep) -> list[ActionOut]:
    """Return every action, grouped by category, with whether the plan includes it."""
    return sorted(actions_for(caller.org.plan), key=lambda a: (a.category, a.title))


@router.get("/api-keys", summary="List API keys")
async def list_keys(caller: CallerDep, request: Request) -> list[ApiKeyOut]:
    """Return the organization's API keys (never the keys themselves)."""
    keys = await context_of(request).store.accounts.list_api_keys(org_id=caller.org.id)
    return [_key_out(info) for info in keys]


@router.post("/api-keys", status_code=201, summary="Make an API key")
async def make_key(body: NewApiKeyIn, caller: CallerDep, request: Request) -> NewApiKeyOut:
    """Make a key; the response is the only time the key is shown."""
    context = context_of(request)
    made = await context.store.accounts.create_api_key(
        org_id=caller.org.id, name=body.name, now=context.clock.now()
    )
    return NewApiKeyOut(key=made.key, api_key=_key_out(made.info))


@router.delete("/api-keys/{key_id}", summary="Revoke an API key")
async def revoke_key(key_id: KeyIdPath, caller: CallerDep, request: Request) -> ApiKeyOut:
    """Revoke a key at once (idempotent).

    This process refuses it from the answer on; other API processes within 1 s.
    """
    context = context_of(request)
    info = await context.store.accounts.revoke_api_key(
        key_id=key_id, org_id=caller.org.id, now=context.clock.now()
    )
    return _key_out(info)
