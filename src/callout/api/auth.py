"""Who is calling: `Authorization: Bearer <API key>`, or a dashboard session cookie.

Both name an organization through one of its API keys; the dashboard uses the
same /v1 API as everyone else. A session must also pass the CSRF and Origin
checks on every request that changes state (see `session.py`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from callout.api.context import ApiContext, context_of
from callout.api.errors import ApiError
from callout.api.session import CSRF_HEADER, SESSION_COOKIE, csrf_ok, session_key
from callout.store.organizations import (
    LAST_USED_EVERY,
    Caller,
    caller_for_key,
    mark_key_used,
)

bearer = HTTPBearer(auto_error=False, description="An API key: `callout orgs create` prints one")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def same_origin(request: Request) -> bool:
    """Say whether the request's Origin is this server (as the browser reached it)."""
    origin = request.headers.get("origin")
    host = request.headers.get("host")
    return origin is not None and host is not None and origin.split("://", 1)[-1] == host


def _session_key(request: Request, context: ApiContext) -> str | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    key = session_key(context.cipher, cookie, now=context.clock.now())
    if key is None:
        raise ApiError(401, "unauthorized", "the session expired; sign in again")
    if request.method not in SAFE_METHODS:
        if not same_origin(request):
            raise ApiError(403, "csrf_failed", "the request did not come from this site")
        if not csrf_ok(context.cipher, cookie, request.headers.get(CSRF_HEADER)):
            raise ApiError(403, "csrf_failed", f"the {CSRF_HEADER} header is missing or wrong")
    return key


async def current_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    """Return the organization behind the request's API key; 401 without a valid one."""
    context = context_of(request)
    if credentials is not None and credentials.scheme.lower() == "bearer":
        key: str | None = credentials.credentials
    else:
        key = _session_key(request, context)
    if key is None:
        raise ApiError(401, "unauthorized", "send an API key: Authorization: Bearer <key>")
    caller = await context.store.read(caller_for_key, key=key)
    if caller is None:
        raise ApiError(401, "unauthorized", "the API key is unknown or revoked")
    now = context.clock.now()
    if caller.last_used_at is None or now - caller.last_used_at >= LAST_USED_EVERY:
        await context.store.write(mark_key_used, key_id=caller.key_id, now=now)
    return caller


CallerDep = Annotated[Caller, Depends(current_caller)]
