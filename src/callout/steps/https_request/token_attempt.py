"""An attempt with an OAuth2 access token: get it, send; on a 401, one fresh token, one re-send.

The token comes from the attempt's `TokenSource` (cached per organization and
credentials, shared by workers). A 401 means the API refused that token (revoked,
or expired before its time): the source is asked once more with `refused=<token>`
and the request is sent once more; that second answer is the attempt's. The
attempt's `timeout` covers it all: fetching, sending, refreshing and re-sending.
Every token is hidden from the record, the outputs and the messages.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time

from callout.model.errors import (
    AttemptError,
    AttemptTimeout,
    RequestRejected,
    ResolveError,
    TokenError,
)
from callout.model.records import StepError
from callout.model.redaction import Redactor
from callout.steps.attempt import AttemptContext, AttemptResult
from callout.steps.https_request.auth import client_credentials
from callout.steps.https_request.auth_config import OAuth2Auth
from callout.steps.https_request.config import HttpsRequestConfig
from callout.steps.https_request.sending import (
    exchange,
    outcome_of,
    prepared_or_refusal,
    refusal,
)
from callout.steps.tokens import ClientCredentials, TokenSource
from callout.templates import Scope, TemplateSyntaxError

NO_STORE_MESSAGE = (
    "auth oauth2_client_credentials needs callout's service store to fetch and cache "
    "access tokens (callout serve or callout worker); this run has no token store"
)

UNAUTHORIZED = 401


class _Tokens:
    """The attempt's way to its tokens: one source, one set of credentials, one deadline."""

    __slots__ = ("credentials", "deadline", "hidden", "source", "timeout")

    def __init__(
        self,
        source: TokenSource,
        credentials: ClientCredentials,
        *,
        timeout: float,
        hidden: list[str],
    ) -> None:
        self.source = source
        self.credentials = credentials
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.hidden = hidden

    def remaining(self) -> float:
        """Return the seconds left of the attempt's timeout."""
        return self.deadline - time.monotonic()

    def out_of_time(self, doing: str) -> AttemptResult:
        """Return the result of an attempt whose timeout passed while `doing`."""
        message = f"the attempt's timeout ({self.timeout:g} s) passed {doing}"
        return AttemptResult(error=StepError(AttemptTimeout.kind, message), retryable=True)

    async def token(self, *, refused: str | None = None) -> str | AttemptResult:
        """Return an access token, or the attempt's result when none could be had."""
        try:
            async with asyncio.timeout(max(self.remaining(), 0.0)):
                token = await self.source.token(self.credentials, refused=refused)
        except TimeoutError:
            return self.out_of_time("while fetching the access token")
        except AttemptError as exc:
            message = Redactor(self.hidden).text(str(exc))
            return AttemptResult(error=StepError(exc.kind, message), retryable=exc.retryable)
        self.hidden.append(token)  # every token the attempt had, the refused one too
        return token


async def _send(
    config: HttpsRequestConfig,
    scope: Scope,
    context: AttemptContext,
    tokens: _Tokens,
    token: str,
) -> tuple[AttemptResult, bool]:
    """Prepare, send with `token` and classify; return the result and whether it was a 401."""
    prepared = prepared_or_refusal(
        config, scope, context, access_token=token, hidden=tuple(tokens.hidden)
    )
    if isinstance(prepared, AttemptResult):
        return prepared, False
    remaining = tokens.remaining()
    if remaining <= 0:
        return tokens.out_of_time("before the request could be sent"), False
    answer = await exchange(prepared, context, time_left=min(remaining, config.timeout))
    if isinstance(answer, AttemptResult):
        return answer, False
    result = await outcome_of(answer, config, prepared, context)
    return result, answer.status == UNAUTHORIZED


async def attempt_with_access_token(
    config: HttpsRequestConfig, auth: OAuth2Auth, scope: Scope, context: AttemptContext
) -> AttemptResult:
    """Make one attempt of a step whose `auth` is `oauth2_client_credentials`."""
    if context.tokens is None:
        return AttemptResult(error=StepError(TokenError.kind, NO_STORE_MESSAGE))
    try:
        credentials = client_credentials(auth, scope, timeout=config.timeout)
    except (ResolveError, TemplateSyntaxError, RequestRejected) as exc:
        return refusal(exc)
    tokens = _Tokens(
        context.tokens,
        credentials,
        timeout=config.timeout,
        hidden=[
            *scope.secrets.values(),
            *scope.previous_secrets.values(),
            credentials.client_secret,
        ],
    )
    token = await tokens.token()
    if isinstance(token, AttemptResult):
        return token
    first, unauthorized = await _send(config, scope, context, tokens, token)
    if not unauthorized:
        return first
    # The API refused the token (revoked, or expired before its time): one fresh one.
    fresh = await tokens.token(refused=token)
    if isinstance(fresh, AttemptResult):
        # Keep what was sent and the 401 it got: it says why a fresh token was wanted.
        return dataclasses.replace(fresh, request=first.request, response=first.response)
    # The second answer is the attempt's, a second 401 included.
    again, _ = await _send(config, scope, context, tokens, fresh)
    return again
