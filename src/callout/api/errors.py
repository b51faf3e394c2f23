"""One JSON shape for every error: `{"error": {"code", "message", "details": [{path, message}]}}`.

Handlers turn the domain's errors into it: not found is 404 (also for another
organization's ids: never 403, never the data), a state conflict 409, a plan
gate 403, an invalid document or input 422 with every problem listed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from callout.engine.plan_gate import PlanError
from callout.model.errors import DocumentError, Problem
from callout.store.encryption import SecretKeyError
from callout.store.protocol import ConflictError, NotFoundError, StoreUnavailable

log = logging.getLogger("callout.api")


class ErrorDetail(BaseModel):
    """One problem: where (a path such as `steps[0].url` or `body.name`) and why."""

    model_config = ConfigDict(extra="forbid")
    path: str
    message: str


class ErrorInfo(BaseModel):
    """What went wrong."""

    model_config = ConfigDict(extra="forbid")
    code: str
    message: str
    details: list[ErrorDetail]


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer has this body."""

    model_config = ConfigDict(extra="forbid")
    error: ErrorInfo


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (400, "Bad request"),
        (401, "No valid API key"),
        (403, "The organization's plan does not allow it"),
        (404, "Not found in this organization"),
        (409, "Conflicts with the resource's state"),
        (413, "Request body too large"),
        (422, "Invalid input: every problem listed"),
    )
}
"""Declared on every /v1 route, so the OpenAPI description tells clients the error shape."""

STORE_RETRY_AFTER = 5
"""Seconds a client is told to wait (`Retry-After`) while the database is unavailable."""

STORE_LOG_EVERY = 10.0
"""Most often (seconds) the API logs that it answers 503 for an unavailable database."""

ERROR_RESPONSES[503] = {
    "model": ErrorBody,
    "description": "The database is unavailable (`store_unavailable`): try again after "
    "`Retry-After` seconds",
    "headers": {
        "Retry-After": {
            "description": "Seconds to wait before trying again",
            "schema": {"type": "integer"},
        }
    },
}


class ApiError(Exception):
    """An error with its HTTP status, code and details."""

    def __init__(
        self, status: int, code: str, message: str, details: Iterable[Problem] = ()
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = tuple(details)
        # A 401 says how to authenticate (RFC 9110, 15.5.2).
        self.headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None


def error_response(
    status: int,
    code: str,
    message: str,
    details: Sequence[Problem] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Return the error shape as a response."""
    body = ErrorBody(
        error=ErrorInfo(
            code=code,
            message=message,
            details=[ErrorDetail(path=p.path, message=p.message) for p in details],
        )
    )
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def _location(loc: Sequence[Any]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _validation_problems(exc: RequestValidationError) -> list[Problem]:
    problems = []
    for error in exc.errors():
        message = str(error.get("msg", "is invalid"))
        loc = tuple(error.get("loc", ()))
        if error.get("type") == "extra_forbidden":
            message = "is not a known field"
        elif error.get("type") == "json_invalid" and len(loc) == 2:
            # ("body", offset): the offset is a character position, not a list index.
            message, loc = f"{message} (at character {loc[1]})", loc[:1]
        problems.append(Problem(_location(loc), message))
    return problems


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)  # noqa: S101 - registered for ApiError only
    return error_response(exc.status, exc.code, exc.message, exc.details, headers=exc.headers)


async def _invalid_request(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101
    problems = _validation_problems(exc)
    return error_response(
        422, "invalid_request", f"the request has {len(problems)} problem(s)", problems
    )


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (one route per method in FastAPI)."""
    methods: set[str] = set()
    for route in getattr(request.app.state, "api_routes", ()):
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101
    codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    return error_response(
        exc.status_code,
        codes.get(exc.status_code, "http_error"),
        str(exc.detail),
        headers=headers,
    )


async def _not_found(_: Request, exc: Exception) -> JSONResponse:
    return error_response(404, "not_found", str(exc))


async def _conflict(_: Request, exc: Exception) -> JSONResponse:
    return error_response(409, "conflict", str(exc))


async def _invalid_document(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DocumentError)  # noqa: S101
    return error_response(
        422,
        "invalid_document",
        f"the workflow has {len(exc.problems)} problem(s)",
        exc.problems,
    )


async def _plan(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PlanError)  # noqa: S101
    return error_response(403, "plan_lacks_action", str(exc), exc.problems)


async def _secret_key(_: Request, exc: Exception) -> JSONResponse:
    log.error("secret key problem: %s", exc)
    return error_response(503, "secret_key_unavailable", str(exc))


async def _store_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # A restart or failover answers every request this way: say so in the log once in
    # a while, not once per request. The driver's words stay in the log.
    state = request.app.state
    now = time.monotonic()
    if now - getattr(state, "store_unavailable_logged_at", -STORE_LOG_EVERY) >= STORE_LOG_EVERY:
        state.store_unavailable_logged_at = now
        log.warning("%s; answering 503 store_unavailable", exc)
    return error_response(
        503,
        "store_unavailable",
        f"the database is unavailable; try again in {STORE_RETRY_AFTER} seconds",
        headers={"Retry-After": str(STORE_RETRY_AFTER)},
    )


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error", exc_info=exc)
    return error_response(500, "internal_error", "callout failed unexpectedly; see its log")


def install_error_handlers(app: FastAPI) -> None:
    """Make every error answer in the one shape."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(NotFoundError, _not_found)
    app.add_exception_handler(ConflictError, _conflict)
    app.add_exception_handler(DocumentError, _invalid_document)
    app.add_exception_handler(PlanError, _plan)
    app.add_exception_handler(SecretKeyError, _secret_key)
    app.add_exception_handler(StoreUnavailable, _store_unavailable)
    app.add_exception_handler(Exception, _unexpected)
