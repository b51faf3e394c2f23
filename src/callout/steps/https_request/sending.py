"""One request of an attempt: prepare it, send it, classify its answer.

An attempt is one such request, or (with OAuth2) two: the second after a 401,
with a fresh token (`token_attempt.py`).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable
from urllib.parse import urlsplit

from callout.http import InboundResponse
from callout.model.errors import AttemptError, RequestRejected, ResolveError
from callout.model.records import RecordedRequest, StepError
from callout.steps.attempt import AttemptContext, AttemptResult
from callout.steps.https_request.config import HttpsRequestConfig
from callout.steps.https_request.outcome import (
    OFF_LOOP_BODY_BYTES,
    RECORDED_BODY_BYTES,
    classify,
)
from callout.steps.https_request.request import PreparedRequest, prepare_request
from callout.templates import Scope, TemplateSyntaxError


def refusal(exc: ResolveError | TemplateSyntaxError | RequestRejected) -> AttemptResult:
    """Return the final result of a request that could not be built (nothing was sent)."""
    if isinstance(exc, ResolveError):
        return AttemptResult(error=StepError("unresolved_reference", str(exc)))
    if isinstance(exc, TemplateSyntaxError):
        # Validation refuses these; a document written straight into the store is not.
        return AttemptResult(error=StepError("invalid_reference", str(exc)))
    return AttemptResult(error=StepError(exc.kind, str(exc)))


def prepared_or_refusal(
    config: HttpsRequestConfig,
    scope: Scope,
    context: AttemptContext,
    *,
    access_token: str | None = None,
    hidden: Iterable[str] = (),
) -> PreparedRequest | AttemptResult:
    """Prepare the request (see `prepare_request`); a request that cannot be built is the result."""
    try:
        return prepare_request(config, scope, context, access_token=access_token, hidden=hidden)
    except (ResolveError, TemplateSyntaxError, RequestRejected) as exc:
        return refusal(exc)


async def exchange(
    prepared: PreparedRequest, context: AttemptContext, *, time_left: float | None = None
) -> InboundResponse | AttemptResult:
    """Send a prepared request (within `time_left` s, when given); a failed send is the result.

    Delivery control (`context.gate`) is asked first, by the URL's host: a deferred
    attempt sends nothing, and its result says when to come back. Only the first
    host is asked: redirect hops the transport follows are not held back.
    """
    outbound = prepared.outbound
    if context.gate is not None:
        deferral = await context.gate.admit(gated_host(outbound.url))
        if deferral is not None:
            return AttemptResult(deferred=deferral)
    if time_left is not None:
        outbound = dataclasses.replace(outbound, timeout=time_left)
    try:
        return await context.transport.send(outbound)
    except AttemptError as exc:
        return AttemptResult(
            error=StepError(exc.kind, prepared.redactor.text(str(exc))),
            retryable=exc.retryable,
            request=logged_request(prepared.record),
        )


def gated_host(url: str) -> str:
    """Return the host delivery control knows a URL by: its name, lower case, without the port."""
    return (urlsplit(url).hostname or "").lower()


async def outcome_of(
    response: InboundResponse,
    config: HttpsRequestConfig,
    prepared: PreparedRequest,
    context: AttemptContext,
) -> AttemptResult:
    """Classify a response (off the event loop when it is large or its check is dear)."""
    record = logged_request(prepared.record)
    now = context.clock.now()
    size = len(response.body)
    schema = config.response_schema
    if size <= OFF_LOOP_BODY_BYTES and (schema is None or schema.checks_inline(size)):
        return classify(response, config, request=record, redactor=prepared.redactor, now=now)
    # Parsing, redacting and checking a large body is CPU work, and a dear schema check
    # waits for the schema helper process: either way, off the event loop.
    return await asyncio.to_thread(
        classify, response, config, request=record, redactor=prepared.redactor, now=now
    )


def logged_request(record: RecordedRequest) -> RecordedRequest:
    """Return the attempt log's copy of a request: its (redacted) body cut at the record cap."""
    raw = record.body.encode("utf-8", errors="surrogatepass")
    if len(raw) <= RECORDED_BODY_BYTES:
        return record
    cut = raw[:RECORDED_BODY_BYTES].decode("utf-8", errors="ignore")
    return dataclasses.replace(record, body=cut, body_truncated=True)
