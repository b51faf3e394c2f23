"""The dashboard's pages: sign in with an API key, then workflows, runs and the settings.

Pages are shells rendered here (layout, navigation, the CSRF token); their
JavaScript modules (static/js) fetch and change everything through /v1, the
same API everyone uses, so the dashboard can do nothing the API would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from callout.api.auth import same_origin
from callout.api.context import context_of
from callout.api.session import (
    SESSION_COOKIE,
    SESSION_SECONDS,
    csrf_ok,
    csrf_token,
    session_cookie,
    session_id_of,
)
from callout.store.account_records import Caller

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class SignInError:
    """What the sign-in page says went wrong: what happened, what to do, and the detail."""

    what: str
    todo: str
    commands: tuple[str, ...] = ()
    detail: str = ""


UNKNOWN_KEY = SignInError(
    what="That API key was not accepted: it is unknown or revoked.",
    todo=(
        "Paste a current API key of your organization. Whoever runs callout can make one "
        "with one of these commands:"
    ),
    commands=("callout keys create", "callout orgs create"),
    detail="401: no active API key matches what was pasted (keys start with callout_).",
)
FOREIGN_FORM = SignInError(
    what="This sign-in did not come from this server's own page, so it was refused.",
    todo="Sign in here, on this page.",
    detail="403: the request's Origin is not this server (a form on another site).",
)


async def _signed_in(request: Request) -> tuple[Caller, str] | None:
    """Return who the session acts as and its id, or None when it is not open."""
    context = context_of(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    session_id = session_id_of(context.cipher, cookie) if cookie else None
    if session_id is None:
        return None
    found = await context.store.accounts.check_session(
        session_id=session_id, now=context.clock.now()
    )
    return (found.caller, session_id) if found.caller is not None else None


def _page(request: Request, template: str, status: int = 200, **values: object) -> HTMLResponse:
    response = templates.TemplateResponse(request, template, values, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response


async def _shell(request: Request, page: str, title: str, **data: str) -> Response:
    found = await _signed_in(request)
    if found is None:
        return RedirectResponse("/sign-in", status_code=303)
    caller, session_id = found
    return _page(
        request,
        "page.html",
        page=page,
        title=title,
        org=caller.org,
        csrf=csrf_token(context_of(request).cipher, session_id),
        data=data,
    )


@router.get("/")
async def home(request: Request) -> Response:
    """Go to the workflows, or to sign in."""
    target = "/workflows" if await _signed_in(request) else "/sign-in"
    return RedirectResponse(target, status_code=303)


@router.get("/sign-in")
async def sign_in_page(request: Request) -> Response:
    """Ask for an API key."""
    return _page(request, "sign_in.html", title="Sign in", error=None)


@router.post("/sign-in")
async def sign_in(request: Request, api_key: Annotated[str, Form(max_length=200)] = "") -> Response:
    """Check the key, open a session named in the cookie, go to the workflows."""
    context = context_of(request)
    if not same_origin(request):
        return _page(request, "sign_in.html", 403, title="Sign in", error=FOREIGN_FORM)
    key = api_key.strip()
    # Read from the store, not the key cache: a session must not start from a stale answer.
    caller = await context.store.accounts.caller_for_key(key=key) if key else None
    if caller is None:
        return _page(
            request,
            "sign_in.html",
            401,
            title="Sign in",
            error=UNKNOWN_KEY,
        )
    # Read first, write only for a good key: guessing keys costs no writes.
    opened = await context.store.accounts.open_session(
        key_id=caller.key_id,
        org_id=caller.org.id,
        now=context.clock.now(),
        lifetime=SESSION_SECONDS,
    )
    response = RedirectResponse("/workflows", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_cookie(context.cipher, opened.session_id),
        max_age=int(SESSION_SECONDS),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/sign-out")
async def sign_out(request: Request, csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    """End the session in the store, then clear the cookie (the form carries the CSRF token)."""
    context = context_of(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    session_id = session_id_of(context.cipher, cookie) if cookie else None
    if session_id and same_origin(request) and csrf_ok(context.cipher, session_id, csrf):
        await context.store.accounts.end_session(session_id=session_id, now=context.clock.now())
        response = RedirectResponse("/sign-in", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response
    return RedirectResponse("/workflows", status_code=303)


@router.get("/workflows")
async def workflows_page(request: Request) -> Response:
    """Show all workflows."""
    return await _shell(request, "workflows", "Workflows")


@router.get("/workflows/{workflow_id}")
async def editor_page(request: Request, workflow_id: str) -> Response:
    """Show the workflow editor."""
    return await _shell(request, "editor", "Edit workflow", workflow_id=workflow_id)


@router.get("/runs")
async def runs_page(request: Request) -> Response:
    """Show all runs."""
    return await _shell(request, "runs", "Runs")


@router.get("/runs/{run_id}")
async def run_page(request: Request, run_id: str) -> Response:
    """Show one run, attempt by attempt."""
    return await _shell(request, "run", "Run", run_id=run_id)


@router.get("/secrets")
async def secrets_page(request: Request) -> Response:
    """Show the organization's secrets."""
    return await _shell(request, "secrets", "Secrets")


@router.get("/hosts")
async def hosts_page(request: Request) -> Response:
    """Show the hosts runs send to: their breakers and limits, and Resume now."""
    return await _shell(request, "hosts", "Hosts")


@router.get("/notifications")
async def notifications_page(request: Request) -> Response:
    """Show the notification endpoints told of run events."""
    return await _shell(request, "notifications", "Notifications")


@router.get("/organization")
async def organization_page(request: Request) -> Response:
    """Show the organization: its plan, and how long its runs and their bodies are kept."""
    return await _shell(request, "organization", "Organization")


def install_dashboard(app: FastAPI) -> None:
    """Serve the dashboard's pages and assets beside the API."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
