"""Whole-document validation: the shape, each step's config, and every reference.

Every problem is collected and reported at once, each with its path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from callout.model.document import StepSpec, WorkflowDocument, read_workflow
from callout.model.errors import DocumentError, Problem
from callout.steps.catalogue import ACTIONS, find_action
from callout.steps.registry import Action, StepPolicy
from callout.steps.schema import CompiledSchema, compile_schema
from callout.steps.step_references import referenced_steps
from callout.templates import ReferenceRules


@dataclass(frozen=True, slots=True)
class CheckedStep:
    """A step whose config its action has checked."""

    spec: StepSpec
    action: Action
    config: Any
    policy: StepPolicy
    step_references: frozenset[str]
    """The earlier steps whose outputs the config references: all an attempt reads."""

    @property
    def id(self) -> str:
        """The step's id."""
        return self.spec.id


@dataclass(frozen=True, slots=True)
class ValidWorkflow:
    """A workflow document that passed every check; its schemas are compiled."""

    document: WorkflowDocument
    steps: tuple[CheckedStep, ...]
    trigger_schema: CompiledSchema | None
    source: Any

    @property
    def name(self) -> str:
        """The workflow's name."""
        return self.document.name

    def secret_names(self) -> set[str]:
        """Return every secret name the workflow references."""
        names: set[str] = set()
        for step in self.steps:
            names |= step.action.referenced_secrets(step.config)
        return names

    def check_trigger(self, payload: Any) -> None:
        """Raise DocumentError when `payload` fails the trigger schema (paths start at `$`)."""
        if self.trigger_schema is None:
            return
        problems = self.trigger_schema.problems(payload)
        if problems:
            raise DocumentError([Problem("trigger payload", problem) for problem in problems])


def validate_workflow(
    data: Any, *, secrets: frozenset[str] | None = None, allow_http: bool = False
) -> ValidWorkflow:
    """Check a parsed document. `secrets`: the known secret names (None: names not checked).

    Raises DocumentError listing every problem.
    """
    document, problems = read_workflow(data)
    trigger_schema: CompiledSchema | None = None
    if document.trigger.schema is not None:
        trigger_schema, found = compile_schema(document.trigger.schema, "trigger.schema")
        problems += found

    step_ids = tuple(step.id for step in document.steps)
    response_schemas: dict[str, Any] = {}
    for step in document.steps:
        action = find_action(step.action)
        if action is not None and (schema := action.response_schema_of(step.config)) is not None:
            response_schemas[step.id] = schema

    checked: list[CheckedStep] = []
    for index, step in enumerate(document.steps):
        path = f"steps[{index}]"
        action = find_action(step.action)
        if action is None:
            if step.action:
                known = ", ".join(sorted(ACTIONS))
                problems.append(
                    Problem(f"{path}.action", f'unknown action "{step.action}" (known: {known})')
                )
            continue
        rules = ReferenceRules(
            step_ids=step_ids,
            current_step=step.id,
            response_schemas=response_schemas,
            trigger_schema=document.trigger.schema,
            secrets=secrets,
        )
        config, found = action.check(step, path, rules, allow_http=allow_http)
        problems += found
        if config is not None:
            checked.append(
                CheckedStep(
                    spec=step,
                    action=action,
                    config=config,
                    policy=action.policy(config),
                    step_references=referenced_steps(step.config),
                )
            )

    if problems:
        raise DocumentError(problems)
    return ValidWorkflow(
        document=document, steps=tuple(checked), trigger_schema=trigger_schema, source=data
    )
