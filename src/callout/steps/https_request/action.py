"""The Make HTTPS Request action: one attempt is resolve, check, sign, send, classify."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from callout.model.document import StepSpec
from callout.model.errors import Problem
from callout.steps.attempt import AttemptContext, AttemptResult
from callout.steps.https_request.auth_config import OAuth2Auth
from callout.steps.https_request.config import HttpsRequestConfig, check_config, secrets_of
from callout.steps.https_request.sending import (
    exchange,
    logged_request,
    outcome_of,
    prepared_or_refusal,
)
from callout.steps.https_request.token_attempt import attempt_with_access_token
from callout.steps.registry import StepPolicy
from callout.templates import ReferenceRules, Scope

__all__ = ["HttpsRequestAction", "logged_request"]


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
        if isinstance(config.auth, OAuth2Auth):
            return await attempt_with_access_token(config, config.auth, scope, context)
        prepared = prepared_or_refusal(config, scope, context)
        if isinstance(prepared, AttemptResult):
            return prepared
        answer = await exchange(prepared, context)
        if isinstance(answer, AttemptResult):
            return answer
        return await outcome_of(answer, config, prepared, context)
