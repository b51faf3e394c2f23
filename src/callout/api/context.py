"""What every request handler works with: the store, the secret key, the transport."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import Request

from callout.api.key_cache import KeyCache
from callout.api.target_cache import TargetCache
from callout.engine.token_source import AccessTokens
from callout.engine.workflow_cache import WorkflowCache
from callout.http import Transport
from callout.model.clock import Clock, SystemClock
from callout.store.encryption import SecretCipher
from callout.store.service import ServiceStore

MAX_BODY_BYTES = 2 * 1024 * 1024
"""Largest request body accepted: a 1 MiB document or payload with room for its envelope."""


def _no_worker() -> None:
    return None


@dataclass(slots=True)
class ApiContext:
    """The service's parts, shared by every request."""

    store: ServiceStore
    cipher: SecretCipher = field(repr=False)
    transport: Transport
    clock: Clock = field(default_factory=SystemClock)
    allow_http: bool = False
    workflows: WorkflowCache = field(default_factory=WorkflowCache)
    new_work: Callable[[], None] = _no_worker
    """Called after runs are started or resumed: wakes a worker in this process."""
    max_body_bytes: int = MAX_BODY_BYTES
    key_cache: KeyCache = field(init=False, repr=False)
    """Who each API key signs in as, read at most once a second (see `key_cache.py`)."""
    targets: TargetCache = field(init=False, repr=False)
    """What each trigger starts, read at most once a second (see `target_cache.py`)."""
    tokens: AccessTokens = field(init=False, repr=False)
    """OAuth2 access tokens for tested steps, shared with the workers through the store."""

    def __post_init__(self) -> None:
        self.key_cache = KeyCache(self.store.accounts, clock=self.clock)
        self.targets = TargetCache(self.store.workflows, clock=self.clock)
        self.tokens = AccessTokens(self.transport, records=self.store.tokens, cipher=self.cipher)


def context_of(request: Request) -> ApiContext:
    """Return the context of the app serving `request`."""
    context: ApiContext = request.app.state.context
    return context
