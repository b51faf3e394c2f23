"""The generic workflow document: a name, a trigger, and ordered steps with raw config.

This layer knows the shape every workflow shares; what a step's config means
belongs to its action (`callout.steps`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from callout.model.errors import Problem

STEP_ID_PATTERN = re.compile(r"[a-z][a-z0-9_]*")
MAX_STEP_ID_LENGTH = 64
MAX_STEPS = 100
MAX_NAME_LENGTH = 200
_WORKFLOW_KEYS = ("name", "description", "trigger", "steps")
_TRIGGER_KEYS = ("event", "schema")
_EVENT_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")


@dataclass(frozen=True, slots=True)
class TriggerSpec:
    """What starts the workflow: an event name (or only the API) and a payload schema."""

    event: str | None = None
    schema: Any = None


@dataclass(frozen=True, slots=True)
class StepSpec:
    """One step as written: its id, its action, and the rest of its keys as raw config."""

    id: str
    action: str
    config: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WorkflowDocument:
    """The shape of a workflow, before its steps' configs are checked by their actions."""

    name: str
    trigger: TriggerSpec
    steps: tuple[StepSpec, ...]
    description: str = ""


def type_name(value: Any) -> str:
    """Name a JSON value's type the way a document author would."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def unknown_keys(data: Mapping[str, Any], allowed: tuple[str, ...], path: str) -> list[Problem]:
    """Report each key of `data` that is not in `allowed`, naming the allowed ones."""
    known = ", ".join(allowed)
    return [
        Problem(f"{path}.{key}" if path else str(key), f"unknown key (allowed: {known})")
        for key in data
        if key not in allowed
    ]


def _read_trigger(raw: Any, problems: list[Problem]) -> TriggerSpec:
    if raw is None:
        return TriggerSpec()
    if not isinstance(raw, dict):
        problems.append(Problem("trigger", f"must be an object, not {type_name(raw)}"))
        return TriggerSpec()
    problems.extend(unknown_keys(raw, _TRIGGER_KEYS, "trigger"))
    event = raw.get("event")
    if event is not None and (
        not isinstance(event, str) or not _EVENT_PATTERN.fullmatch(event) or len(event) > 200
    ):
        problems.append(Problem("trigger.event", "must be an event name such as inquiry.completed"))
        event = None
    return TriggerSpec(event=event, schema=raw.get("schema"))


def _read_step(raw: Any, index: int, seen: dict[str, int], problems: list[Problem]) -> StepSpec:
    path = f"steps[{index}]"
    if not isinstance(raw, dict):
        problems.append(Problem(path, f"must be an object, not {type_name(raw)}"))
        return StepSpec(id=f"#{index}", action="")
    step_id = raw.get("id")
    if not isinstance(step_id, str) or not step_id:
        problems.append(Problem(f"{path}.id", "is required: a name like create_user"))
        step_id = f"#{index}"
    elif not STEP_ID_PATTERN.fullmatch(step_id) or len(step_id) > MAX_STEP_ID_LENGTH:
        problems.append(
            Problem(
                f"{path}.id",
                f'"{step_id}" is not a valid id: lowercase letter first, then lowercase '
                f"letters, digits or _ (at most {MAX_STEP_ID_LENGTH} characters)",
            )
        )
    elif step_id in seen:
        problems.append(
            Problem(f"{path}.id", f'"{step_id}" is already the id of steps[{seen[step_id]}]')
        )
    else:
        seen[step_id] = index
    action = raw.get("action")
    if not isinstance(action, str) or not action:
        problems.append(Problem(f"{path}.action", "is required, e.g. make_https_request"))
        action = ""
    config = {key: value for key, value in raw.items() if key not in ("id", "action")}
    return StepSpec(id=step_id, action=action, config=config)


def read_workflow(data: Any) -> tuple[WorkflowDocument, list[Problem]]:
    """Read the shared shape of a workflow document; every problem is returned, not raised."""
    problems: list[Problem] = []
    if not isinstance(data, dict):
        problems.append(Problem("", f"a workflow must be an object, not {type_name(data)}"))
        return WorkflowDocument(name="", trigger=TriggerSpec(), steps=()), problems
    problems.extend(unknown_keys(data, _WORKFLOW_KEYS, ""))
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(Problem("name", "is required: a short text naming the workflow"))
        name = ""
    elif len(name) > MAX_NAME_LENGTH:
        problems.append(Problem("name", f"is longer than {MAX_NAME_LENGTH} characters"))
    description = data.get("description", "")
    if not isinstance(description, str):
        problems.append(Problem("description", f"must be a string, not {type_name(description)}"))
        description = ""
    trigger = _read_trigger(data.get("trigger"), problems)
    raw_steps = data.get("steps")
    steps: list[StepSpec] = []
    if not isinstance(raw_steps, list) or not raw_steps:
        problems.append(Problem("steps", "is required: a list of at least one step"))
    elif len(raw_steps) > MAX_STEPS:
        problems.append(Problem("steps", f"has {len(raw_steps)} steps; at most {MAX_STEPS}"))
    else:
        seen: dict[str, int] = {}
        steps = [_read_step(raw, i, seen, problems) for i, raw in enumerate(raw_steps)]
    return (
        WorkflowDocument(name=name, trigger=trigger, steps=tuple(steps), description=description),
        problems,
    )
