"""Import a curl command as a Make HTTPS Request step (the dashboard's paste box calls this).

Nothing is stored: the answer is the step (credentials replaced by secret
references), the secrets to store with where each was found, and notes. No
credential from the command is ever in the answer, nor in an error.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from callout.api.auth import CallerDep
from callout.api.context import context_of
from callout.api.errors import ERROR_RESPONSES, ApiError
from callout.model.errors import Problem
from callout.steps.https_request.curl_import import (
    MAX_COMMAND_CHARS,
    CurlImportError,
    import_curl,
)

router = APIRouter(prefix="/v1/curl-imports", tags=["Workflows"], responses=ERROR_RESPONSES)


class CurlImportIn(BaseModel):
    """A curl command, as an API's docs print it."""

    model_config = ConfigDict(extra="forbid")
    command: str = Field(
        max_length=MAX_COMMAND_CHARS,
        repr=False,
        description="The command: `curl ...`, with line continuations and quotes as pasted",
    )
    id: str | None = Field(
        default=None,
        max_length=64,
        pattern=r"^[a-z][a-z0-9_]*$",
        description="The step's id; default: from the service and the URL's path",
    )


class SecretToStoreOut(BaseModel):
    """A secret the step references, to store before it runs."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(description="The suggested name, as the step references it")
    found_in: str = Field(description="Where the value was in the command (never the value)")
    stored: bool = Field(description="Whether the organization already has a secret so named")


class CurlImportOut(BaseModel):
    """The imported step, the secrets to store, and what the user should know."""

    model_config = ConfigDict(extra="forbid")
    step: dict[str, Any] = Field(description="A make_https_request step of the document format")
    secrets: list[SecretToStoreOut]
    notes: list[str] = Field(description="What was kept as text, left out or read differently")


@router.post("", summary="Import a curl command as a step")
async def create_curl_import(
    body: CurlImportIn, caller: CallerDep, request: Request
) -> CurlImportOut:
    """Read a curl command; answer the step it makes, the secrets to store and notes.

    422 `invalid_curl_command` lists every problem of a command that cannot be
    imported (`-F` multipart data, an unknown option, an unclosed quote...).
    """
    context = context_of(request)
    try:
        # On a thread: a long command takes a CPU-bound moment, which the loop must not wait.
        result = await asyncio.to_thread(import_curl, body.command, step_id=body.id)
    except CurlImportError as exc:
        count = len(exc.problems)
        raise ApiError(
            422,
            "invalid_curl_command",
            f"the curl command cannot be imported ({count} problem{'s' if count != 1 else ''})",
            [Problem("body.command", problem.message) for problem in exc.problems],
        ) from None
    stored = await context.store.accounts.secret_names(org_id=caller.org.id)
    return CurlImportOut(
        step=result.step,
        secrets=[
            SecretToStoreOut(
                name=secret.name, found_in=secret.found_in, stored=secret.name in stored
            )
            for secret in result.secrets
        ],
        notes=list(result.notes),
    )
