"""Who is calling: `Authorization: Bearer <API key>`, or a dashboard session cookie.

Both name an organization through one of its API keys; the dashboard uses the
same /v1 API as everyone else. An API key's answer comes from the key cache
(`key_cache.py`: read at most once a second, so a key revoked in another
process passes here for at most 1 s). A session is checked in the store on
every request (one read, which also yields its key and organization), and
must also pass the CSRF and Origin checks on every request that changes state
(see `session.py`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param

from callout.api.context import ApiContext, context_of
from callout.api.errors import ApiError
from callout.api.session import (
    CSRF_HEADER,
    REFUSALS,
    SESSION_COOKIE,
    csrf_ok,
    session_id_of,
)
from callout.store.account_records import LAST_USED_EVERY, Caller, SessionState

bearer = HTTPBearer(auto_error=False, description="An API key: `callout orgs create` prints one")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def same_origin(request: Request) -> bool:
    """Say whether the request's Origin is this server (as the browser reached it)."""
    origin = request.headers.get("origin")
    host = request.headers.get("host")
    return origin is not None and host is not None and origin.split("://", 1)[-1] == host


async def _session_caller(request: Request, context: ApiContext) -> Caller | None:
    """Return who the request's session cookie acts as; None without one; 401 or 403."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    session_id = session_id_of(context.cipher, cookie)
    if session_id is None:
        raise ApiError(401, "unauthorized", REFUSALS[SessionState.UNKNOWN])
    # Forged requests are refused before the store is asked.
    if request.method not in SAFE_METHODS:
        if not same_origin(request):
            raise ApiError(403, "csrf_failed", "the request did not come from this site")
        if not csrf_ok(context.cipher, session_id, request.headers.get(CSRF_HEADER)):
            raise ApiError(403, "csrf_failed", f"the {CSRF_HEADER} header is missing or wrong")
    found = await context.store.accounts.check_session(
        session_id=session_id, now=context.clock.now()
    )
    if found.caller is None:
        raise ApiError(401, "unauthorized", REFUSALS[found.state])
    return found.caller


async def current_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    """Return the organization behind the request's API key; 401 without a valid one."""
    context = context_of(request)
    if credentials is not None and credentials.scheme.lower() == "bearer":
        caller = await key_caller(context, credentials.credentials)
        if caller is None:
            raise ApiError(401, "unauthorized", "the API key is unknown or revoked")
        return caller
    now = context.clock.now()
    caller = await _session_caller(request, context)
    if caller is None:
        raise ApiError(401, "unauthorized", "send an API key: Authorization: Bearer <key>")
    if caller.last_used_at is None or now - caller.last_used_at >= LAST_USED_EVERY:
        await context.store.accounts.mark_key_used(key_id=caller.key_id, now=now)
    return caller


async def bearer_key_caller(request: Request) -> Caller | None:
    """Who the request's bearer API key signs in as; None without one or for an unknown one.

    For a route's shortcut (`shortcuts.py`), which leaves every other case to
    `current_caller`: the same key cache, and the key's use recorded the same way.
    """
    scheme, key = get_authorization_scheme_param(request.headers.get("authorization"))
    if scheme.lower() != "bearer" or not key:
        return None
    return await key_caller(context_of(request), key)


async def key_caller(context: ApiContext, key: str) -> Caller | None:
    """Return who an API key signs in as (its use recorded when due); None: unknown or revoked."""
    caller = await context.key_cache.caller(key)
    if caller is None:
        return None
    now = context.clock.now()
    if context.key_cache.use_is_due(key, caller, now=now):
        await context.store.accounts.mark_key_used(key_id=caller.key_id, now=now)
    return caller


CallerDep = Annotated[Caller, Depends(current_caller)]
