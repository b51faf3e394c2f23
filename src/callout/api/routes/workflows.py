"""Workflows and versions: create, list, get, save the draft, publish, archive, history."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from callout.api.auth import CallerDep
from callout.api.context import ApiContext, context_of
from callout.api.documents import check_size, name_of, problems_of, publish_check
from callout.api.errors import ERROR_RESPONSES, ErrorDetail
from callout.api.pages import CursorQuery, LimitQuery, PageInfo, page_of
from callout.model.json_input import servable_json_value
from callout.model.timestamps import iso_utc
from callout.store.account_records import Caller
from callout.store.protocol import ConflictError
from callout.store.workflow_records import (
    VersionInfo,
    VersionState,
    WorkflowInfo,
    WorkflowStatus,
    system_workflow_refused,
)

router = APIRouter(prefix="/v1/workflows", tags=["Workflows"], responses=ERROR_RESPONSES)

WorkflowIdPath = Annotated[str, Path(max_length=64, pattern=r"^wfl_[0-9A-Z]+$")]
VersionIdPath = Annotated[
    str,
    Path(
        max_length=64,
        pattern=r"^(wflv_[0-9A-Z]+|draft|live)$",
        description="A version id, or `draft` or `live`",
    ),
]


class DocumentIn(BaseModel):
    """A workflow document (the same format `callout validate` reads), as JSON."""

    model_config = ConfigDict(extra="forbid")
    document: dict[str, Any] = Field(
        description=(
            "name, trigger and steps: see docs/workflow-document.md. A make_https_request "
            "step takes url, method, query, headers, body (body_type json, form or raw; "
            "content_type for raw), auth (basic, bearer or oauth2_client_credentials), "
            "client_certificate, follow_redirects, response_schema, secret, "
            "retry_intervals, timeout and continue_on_error; credentials only as "
            "{{ secrets.name }} references"
        ),
        examples=[
            {
                "name": "Charge the order",
                "trigger": {"event": "order.paid"},
                "steps": [
                    {
                        "id": "charge",
                        "action": "make_https_request",
                        "url": "https://api.stripe.com/v1/charges?expand[]=customer",
                        "method": "POST",
                        "query": [{"key": "receipt_email", "value": "{{ trigger.email }}"}],
                        "auth": {"type": "basic", "username": "{{ secrets.stripe_key }}"},
                        "body_type": "form",
                        "body": [
                            {"key": "amount", "value": "{{ trigger.amount }}"},
                            {"key": "metadata[order]", "value": "{{ trigger.id }}"},
                        ],
                        "secret": "{{ secrets.crm_signing }}",
                        "retry_intervals": [5, 60],
                    },
                    {
                        "id": "notify",
                        "action": "make_https_request",
                        "url": "https://partner.example.com/orders",
                        "method": "PUT",
                        "body_type": "raw",
                        "body": '<paid order="{{ trigger.id }}"/>',
                        "content_type": "application/xml",
                        "auth": {
                            "type": "oauth2_client_credentials",
                            "token_url": "https://auth.example.com/oauth/token",
                            "client_id": "callout",
                            "client_secret": "{{ secrets.partner_oauth }}",
                            "scopes": ["orders:write"],
                        },
                        "client_certificate": "{{ secrets.partner_cert }}",
                        "follow_redirects": False,
                    },
                ],
            }
        ],
    )


class VersionRef(BaseModel):
    """A version by id and number."""

    model_config = ConfigDict(extra="forbid")
    id: str
    number: int


class LastRunOut(BaseModel):
    """The newest run of a workflow."""

    model_config = ConfigDict(extra="forbid")
    id: str
    status: str
    created_at: str


class WorkflowOut(BaseModel):
    """A workflow: its status, live version, draft and newest run."""

    model_config = ConfigDict(extra="forbid")
    id: str
    name: str
    status: WorkflowStatus
    event: str | None = Field(description="The event the live version starts on")
    live_version: VersionRef | None
    draft_version: VersionRef | None
    created_at: str
    updated_at: str
    archived_at: str | None
    last_run: LastRunOut | None


class WorkflowPage(PageInfo):
    """A page of workflows, newest first."""

    data: list[WorkflowOut]


class VersionOut(BaseModel):
    """A version's history entry: who made and published it, and when."""

    model_config = ConfigDict(extra="forbid")
    id: str
    workflow_id: str
    number: int
    state: VersionState
    live: bool
    created_at: str
    created_by: str | None = Field(description="The API key that made it")
    updated_at: str
    updated_by: str | None
    published_at: str | None
    published_by: str | None


class VersionDetailOut(VersionOut):
    """A version with its document; a draft also lists what would stop it publishing."""

    document: dict[str, Any]
    problems: list[ErrorDetail] = Field(
        description="Every problem publishing would report (empty: ready to publish)"
    )


class CreatedOut(BaseModel):
    """A new workflow and its first draft."""

    model_config = ConfigDict(extra="forbid")
    workflow: WorkflowOut
    draft: VersionDetailOut


def _time(value: float | None) -> str | None:
    return iso_utc(value) if value is not None else None


def workflow_out(info: WorkflowInfo) -> WorkflowOut:
    """Describe a workflow for the API."""
    return WorkflowOut(
        id=info.id,
        name=info.name,
        status=info.status,
        event=info.event,
        live_version=(
            VersionRef(id=info.live_version_id, number=info.live_version_number or 0)
            if info.live_version_id
            else None
        ),
        draft_version=(
            VersionRef(id=info.draft_version_id, number=info.draft_version_number or 0)
            if info.draft_version_id
            else None
        ),
        created_at=iso_utc(info.created_at),
        updated_at=iso_utc(info.updated_at),
        archived_at=_time(info.archived_at),
        last_run=(
            LastRunOut(
                id=info.last_run.id,
                status=info.last_run.status,
                created_at=iso_utc(info.last_run.created_at),
            )
            if info.last_run
            else None
        ),
    )


def _version_fields(info: VersionInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "workflow_id": info.workflow_id,
        "number": info.number,
        "state": info.state,
        "live": info.live,
        "created_at": iso_utc(info.created_at),
        "created_by": info.created_by,
        "updated_at": iso_utc(info.updated_at),
        "updated_by": info.updated_by,
        "published_at": _time(info.published_at),
        "published_by": info.published_by,
    }


async def _detail(context: ApiContext, caller: Caller, info: VersionInfo) -> VersionDetailOut:
    problems = []
    if info.state is VersionState.DRAFT:
        names = await context.store.accounts.secret_names(org_id=caller.org.id)
        # Off the loop: validating a large document takes up to ~1 s of CPU.
        found = await asyncio.to_thread(
            problems_of,
            info.document,
            plan=caller.org.plan,
            secrets=names,
            allow_http=context.allow_http,
        )
        problems = [ErrorDetail(path=p.path, message=p.message) for p in found]
    # A document stored before every body was checked may be too deep to write out, or
    # hold a lone surrogate: shown degraded (its problem listed for a draft), never a 500.
    document = servable_json_value(info.document)
    return VersionDetailOut(**_version_fields(info), document=document, problems=problems)


@router.post("", status_code=201, summary="Create a workflow (its first draft)")
async def create(body: DocumentIn, caller: CallerDep, request: Request) -> CreatedOut:
    """Create a workflow whose version 1 is a draft of the document (it may be incomplete)."""
    context = context_of(request)
    check_size(body.document, "body.document")
    info = await context.store.workflows.create_workflow(
        org_id=caller.org.id,
        name=name_of(body.document),
        document=body.document,
        by=caller.key_id,
        now=context.clock.now(),
    )
    draft = await context.store.workflows.get_version(
        org_id=caller.org.id, workflow_id=info.id, version_id="draft"
    )
    return CreatedOut(workflow=workflow_out(info), draft=await _detail(context, caller, draft))


@router.get("", summary="List workflows")
async def list_all(
    caller: CallerDep,
    request: Request,
    status: Annotated[WorkflowStatus | None, Query()] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> WorkflowPage:
    """Return the organization's workflows, newest first, with status, live version, last run."""
    found = await context_of(request).store.workflows.list_workflows(
        org_id=caller.org.id, status=status, limit=limit + 1, before_id=cursor
    )
    page, cursor = page_of(found, limit, lambda info: info.id)
    return WorkflowPage(data=[workflow_out(info) for info in page], next_cursor=cursor)


@router.get("/{workflow_id}", summary="Get a workflow")
async def get_one(workflow_id: WorkflowIdPath, caller: CallerDep, request: Request) -> WorkflowOut:
    """Return one workflow."""
    info = await context_of(request).store.workflows.get_workflow(
        org_id=caller.org.id, workflow_id=workflow_id
    )
    return workflow_out(info)


@router.put("/{workflow_id}/draft", summary="Save the draft")
async def put_draft(
    workflow_id: WorkflowIdPath, body: DocumentIn, caller: CallerDep, request: Request
) -> VersionDetailOut:
    """Save the document as the draft.

    The one draft is replaced, or a new one (the next number) starts after a
    publish. Published versions never change.
    """
    context = context_of(request)
    check_size(body.document, "body.document")
    info = await context.store.workflows.save_draft(
        org_id=caller.org.id,
        workflow_id=workflow_id,
        name=name_of(body.document),
        document=body.document,
        by=caller.key_id,
        now=context.clock.now(),
    )
    return await _detail(context, caller, info)


@router.post("/{workflow_id}/publish", summary="Publish the draft")
async def publish(workflow_id: WorkflowIdPath, caller: CallerDep, request: Request) -> VersionOut:
    """Check the draft (the plan, then every problem at once), freeze it and make it live.

    Runs already started stay on the version they started with. The check runs
    before the write, which publishes only the document checked: a save in
    between makes the publish 409 (publish again).
    """
    context = context_of(request)
    workflows, org_id = context.store.workflows, caller.org.id
    workflow = await workflows.get_workflow(org_id=org_id, workflow_id=workflow_id)
    if workflow.system:
        raise system_workflow_refused(workflow_id)
    if workflow.status is WorkflowStatus.ARCHIVED:
        raise ConflictError(f"workflow {workflow_id} is archived; unarchive it to publish")
    draft = await workflows.get_version(org_id=org_id, workflow_id=workflow_id, version_id="draft")
    org, names = await asyncio.gather(
        context.store.accounts.get_organization(org_id=org_id),
        context.store.accounts.secret_names(org_id=org_id),
    )
    # Off the loop: validating a large document takes up to ~1 s of CPU.
    event = await asyncio.to_thread(
        publish_check,
        draft.document,
        plan=org.plan,
        secrets=names,
        allow_http=context.allow_http,
    )
    info = await workflows.publish(
        org_id=org_id,
        workflow_id=workflow_id,
        draft_id=draft.id,
        checked=draft.document,
        event=event,
        by=caller.key_id,
        now=context.clock.now(),
    )
    context.targets.forget(org_id)  # this process's triggers start the new version at once
    return VersionOut(**_version_fields(info))


async def _set_archived(
    request: Request, org_id: str, workflow_id: str, archived: bool
) -> WorkflowOut:
    context = context_of(request)
    info = await context.store.workflows.set_archived(
        org_id=org_id,
        workflow_id=workflow_id,
        archived=archived,
        now=context.clock.now(),
    )
    context.targets.forget(org_id)
    return workflow_out(info)


@router.post("/{workflow_id}/archive", summary="Archive a workflow")
async def archive(workflow_id: WorkflowIdPath, caller: CallerDep, request: Request) -> WorkflowOut:
    """Archive the workflow: it starts no more runs (runs in progress finish)."""
    return await _set_archived(request, caller.org.id, workflow_id, archived=True)


@router.post("/{workflow_id}/unarchive", summary="Bring an archived workflow back")
async def unarchive(
    workflow_id: WorkflowIdPath, caller: CallerDep, request: Request
) -> WorkflowOut:
    """Bring the workflow back: its live version (if any) starts runs again."""
    return await _set_archived(request, caller.org.id, workflow_id, archived=False)


@router.get("/{workflow_id}/versions", summary="Version history")
async def versions(
    workflow_id: WorkflowIdPath, caller: CallerDep, request: Request
) -> list[VersionOut]:
    """Return every version, newest first, with who made and published it and when."""
    found = await context_of(request).store.workflows.list_versions(
        org_id=caller.org.id, workflow_id=workflow_id
    )
    return [VersionOut(**_version_fields(info)) for info in found]


@router.get("/{workflow_id}/versions/{version_id}", summary="Get a version's document")
async def version(
    workflow_id: WorkflowIdPath, version_id: VersionIdPath, caller: CallerDep, request: Request
) -> VersionDetailOut:
    """Return one version (or `draft`, or `live`) with its document."""
    context = context_of(request)
    info = await context.store.workflows.get_version(
        org_id=caller.org.id, workflow_id=workflow_id, version_id=version_id
    )
    return await _detail(context, caller, info)
