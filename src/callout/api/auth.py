"""Who is calling: `Authorization: Bearer <API key>` names an organization."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from callout.api.context import context_of
from callout.api.errors import ApiError
from callout.store.organizations import (
    LAST_USED_EVERY,
    Caller,
    caller_for_key,
    mark_key_used,
)

bearer = HTTPBearer(auto_error=False, description="An API key: `callout orgs create` prints one")


async def current_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    """Return the organization behind the request's API key; 401 without a valid one."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(401, "unauthorized", "send an API key: Authorization: Bearer <key>")
    context = context_of(request)
    caller = await context.store.read(caller_for_key, key=credentials.credentials)
    if caller is None:
        raise ApiError(401, "unauthorized", "the API key is unknown or revoked")
    now = context.clock.now()
    if caller.last_used_at is None or now - caller.last_used_at >= LAST_USED_EVERY:
        await context.store.write(mark_key_used, key_id=caller.key_id, now=now)
    return caller


CallerDep = Annotated[Caller, Depends(current_caller)]
