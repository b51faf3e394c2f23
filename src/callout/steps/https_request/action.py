"""The Make HTTPS Request action: one attempt is resolve, check, sign, send, classify."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from typing import Any

from callout.model.document import StepSpec
from callout.model.errors import AttemptError, Problem, RequestRejected, ResolveError
from callout.model.records import RecordedRequest, StepError
from callout.steps.attempt import AttemptContext, AttemptResult
from callout.steps.https_request.config import HttpsRequestConfig, check_config, secrets_of
from callout.steps.https_request.outcome import (
    OFF_LOOP_BODY_BYTES,
    RECORDED_BODY_BYTES,
    classify,
)
from callout.steps.https_request.request import prepare_request
from callout.steps.registry import StepPolicy
from callout.templates import ReferenceRules, Scope, TemplateSyntaxError


class HttpsRequestAction:
    """Compute > Make HTTPS Request."""

    name = "make_https_request"
    title = "Make HTTPS Request"
    category = "Compute"

    def response_schema_of(self, raw: Mapping[str, Any]) -> Any:
        """Return the raw `response_schema` when it is a schema object, else None."""
        schema = raw.get("response_schema")
        return schema if isinstance(schema, dict | bool) else None

    def check(
        self, spec: StepSpec, path: str, rules: ReferenceRules, *, allow_http: bool
    ) -> tuple[HttpsRequestConfig | None, list[Problem]]:
        """Check the step's fields (see `config.py`)."""
        return check_config(spec, path, rules, allow_http=allow_http)

    def policy(self, config: HttpsRequestConfig) -> StepPolicy:
        """Return the step's retry intervals and continue-on-error flag."""
        return StepPolicy(
            retry_intervals=config.retry_intervals,
            continue_on_error=config.continue_on_error,
            timeout=config.timeout,
        )

    def referenced_secrets(self, config: HttpsRequestConfig) -> set[str]:
        """Return the secret names the step uses."""
        return secrets_of(config)

    async def attempt(
        self, config: HttpsRequestConfig, scope: Scope, context: AttemptContext
    ) -> AttemptResult:
        """Make one attempt. Never raises for an attempt's failure: it is in the result."""
        try:
            prepared = prepare_request(config, scope, context)
        except ResolveError as exc:
            return AttemptResult(error=StepError("unresolved_reference", str(exc)))
        except TemplateSyntaxError as exc:
            # Validation refuses these; a document written straight into the store is not.
            return AttemptResult(error=StepError("invalid_reference", str(exc)))
        except RequestRejected as exc:
            return AttemptResult(error=StepError(exc.kind, str(exc)))
        record = logged_request(prepared.record)
        try:
            response = await context.transport.send(prepared.outbound)
        except AttemptError as exc:
            return AttemptResult(
                error=StepError(exc.kind, prepared.redactor.text(str(exc))),
                retryable=exc.retryable,
                request=record,
            )
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
