"""Actions a step can take, by the name a document uses for them.

`make_https_request` is the first; Wait, Conditional and Update Variable plug
in here later. An action owns its config model, its checks, and one attempt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from callout.model.document import StepSpec
from callout.model.errors import Problem
from callout.steps.attempt import AttemptContext, AttemptResult
from callout.templates import ReferenceRules, Scope


@dataclass(frozen=True, slots=True)
class StepPolicy:
    """What the engine needs to know about a step, whatever its action."""

    retry_intervals: tuple[float, ...] = ()
    continue_on_error: bool = False
    timeout: float = 30.0
    """Seconds an attempt may take: a claim leases the step run this long plus a margin."""


class Action(Protocol):
    """A kind of step."""

    name: str
    title: str
    category: str

    def response_schema_of(self, raw: Mapping[str, Any]) -> Any:
        """Return the response schema a raw config declares, if any (for reference checks)."""
        ...

    def check(
        self, spec: StepSpec, path: str, rules: ReferenceRules, *, allow_http: bool
    ) -> tuple[Any, list[Problem]]:
        """Check a step's raw config; return its typed config (None when invalid) and problems."""
        ...

    def policy(self, config: Any) -> StepPolicy:
        """Return the retry and error policy of a typed config."""
        ...

    def referenced_secrets(self, config: Any) -> set[str]:
        """Return the names of the secrets a typed config references."""
        ...

    async def attempt(self, config: Any, scope: Scope, context: AttemptContext) -> AttemptResult:
        """Make one attempt of the step."""
        ...
