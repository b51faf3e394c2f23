"""Check references before anything runs: syntax, roots, step order, secrets, schema paths.

Each fault becomes a `Problem` at the path of the field that holds it, with a
message that starts with the reference (`{{ steps.a.body.id }}: ...`). Every
reference of every string is checked; nothing stops at the first fault.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from callout.model.errors import Problem
from callout.templates.reference import Reference, format_key, format_path, is_name, quote_key
from callout.templates.resolve import STEP_PARTS
from callout.templates.schema_paths import excluded_path
from callout.templates.template import TemplateSyntaxError, parse_template

ROOTS = ("trigger", "steps", "secrets", "run")
ERROR_PARTS = ("type", "message", "status", "body")
SECRET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class ReferenceRules:
    """What a field's references may name.

    `step_ids` lists every step in document order; `current_step` is the step
    whose field is checked (None outside steps: then every step may be named);
    `response_schemas` maps step ids to response schemas (only steps that have
    one); `secrets`, when not None, is the set of secret names that exist.
    """

    step_ids: tuple[str, ...]
    current_step: str | None
    response_schemas: Mapping[str, Any]
    trigger_schema: Any = None
    secrets: frozenset[str] | None = None


def json_path(base: str, key: str | int) -> str:
    """Return the path of a child: `base.key`, `base["odd-key"]` or `base[0]`."""
    if isinstance(key, int):
        return f"{base}[{key}]"
    if is_name(key):
        return f"{base}.{key}" if base else key
    return f"{base}{format_key(key)}"


def _suggest(word: str, choices: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f"; did you mean {close[0]}?" if close else ""


def _step_order_problem(step_id: str, rules: ReferenceRules) -> str | None:
    where = format_path("steps", (step_id,))
    if step_id not in rules.step_ids:
        known = ", ".join(rules.step_ids) or "none"
        suggestion = _suggest(step_id, list(rules.step_ids))
        return f"unknown step {quote_key(step_id)} (steps: {known}){suggestion}"
    current = rules.current_step
    if current is None:
        return None
    if step_id == current:
        return f"{where} is this step itself; a step can use only the output of earlier steps"
    if current in rules.step_ids:
        position = rules.step_ids.index(step_id)
        if position > rules.step_ids.index(current):
            return (
                f"{where} is a later step (steps[{position}]); "
                "a step can use only the output of earlier steps"
            )
    return None


def _header_part_problem(where: str, part: str, deeper: tuple[str | int, ...]) -> str | None:
    """Check what follows `.headers` (name -> text) or `.header_values` (name -> list of text)."""
    if not isinstance(deeper[0], str):
        return f"{where} is an object of header names, not a list"
    header = format_path(where, deeper[:1])
    if part == "headers":
        return f"{header} is text; a header has no parts" if len(deeper) > 1 else None
    if len(deeper) > 1 and not isinstance(deeper[1], int):
        return f"{header} is a list of text (one per value received); use {header}[0]"
    if len(deeper) > 2:
        value = format_path(header, deeper[1:2])
        return f"{value} is text; a header value has no parts"
    return None


def _step_part_problem(step_id: str, rest: tuple[str | int, ...]) -> str | None:
    """Check what follows `steps.<id>.<part>`, where `rest` starts with the part."""
    where = format_path("steps", (step_id,))
    part, deeper = rest[0], rest[1:]
    if part not in STEP_PARTS:
        return f"{where} has no part {quote_key(part)} (use status, headers, body or error)"
    if part == "status" and deeper:
        return f"{where}.status is a number; it has no parts"
    if part == "url" and deeper:
        return f"{where}.url is text; it has no parts"
    if part in ("headers", "header_values") and deeper:
        return _header_part_problem(f"{where}.{part}", part, deeper)
    if part == "error" and deeper:
        if deeper[0] not in ERROR_PARTS:
            shown = quote_key(deeper[0])
            return f"{where}.error has no part {shown} (use type, message, status or body)"
        if deeper[0] != "body" and len(deeper) > 1:
            kind = "a number" if deeper[0] == "status" else "text"
            return f"{where}.error.{deeper[0]} is {kind}; it has no parts"
    return None


def _steps_problem(reference: Reference, rules: ReferenceRules) -> str | None:
    path = reference.path
    if not path or not isinstance(path[0], str):
        return "name a step by its id, e.g. steps.create_user.body"
    step_id = path[0]
    if (why := _step_order_problem(step_id, rules)) is not None:
        return why
    if len(path) == 1:
        where = format_path("steps", (step_id,))
        return f"name a part of its output: {where}.body, .status, .headers or .error"
    if (why := _step_part_problem(step_id, path[1:])) is not None:
        return why
    if path[1] == "body" and step_id in rules.response_schemas:
        return excluded_path(
            rules.response_schemas[step_id],
            format_path("steps", (step_id, "body")),
            path[2:],
            f"the response schema of {step_id}",
        )
    return None


def _secrets_problem(reference: Reference, rules: ReferenceRules) -> str | None:
    path = reference.path
    if not path:
        return "name a secret: secrets.<name>"
    name = path[0]
    if not isinstance(name, str) or SECRET_NAME.fullmatch(name) is None:
        return (
            f"{quote_key(name)} is not a secret name "
            "(letters, digits and _, not starting with a digit)"
        )
    if len(path) > 1:
        return f"secrets.{name} is text; a secret has no parts"
    if rules.secrets is not None and name not in rules.secrets:
        known = ", ".join(sorted(rules.secrets)) or "none"
        suggestion = _suggest(name, sorted(rules.secrets))
        return f"unknown secret {name} (known secrets: {known}){suggestion}"
    return None


def check_reference(reference: Reference, rules: ReferenceRules) -> str | None:
    """Return why `reference` is not allowed under `rules`, or None when it is."""
    if reference.root == "trigger":
        if rules.trigger_schema is None:
            return None
        return excluded_path(rules.trigger_schema, "trigger", reference.path, "the trigger schema")
    if reference.root == "steps":
        return _steps_problem(reference, rules)
    if reference.root == "secrets":
        return _secrets_problem(reference, rules)
    if reference.root == "run":
        return None if reference.path == ("id",) else "run has only one value: run.id"
    return (
        f"unknown root {reference.root} (a reference starts with trigger, steps, secrets or run)"
        + _suggest(reference.root, list(ROOTS))
    )


def check_text(text: str, path: str, rules: ReferenceRules) -> list[Problem]:
    """Check one template string held at `path`; return every problem in it."""
    try:
        template = parse_template(text)
    except TemplateSyntaxError as exc:
        return [Problem(path, str(exc))]
    problems: dict[Problem, None] = {}
    for reference in template.references:
        why = check_reference(reference, rules)
        if why is not None:
            problems[Problem(path, f"{{{{ {reference.text} }}}}: {why}")] = None
    return list(problems)


def check_value(value: Any, path: str, rules: ReferenceRules) -> list[Problem]:
    """Check every string of a JSON tree (keys are literal); child paths use `json_path`."""
    if isinstance(value, str):
        return check_text(value, path, rules)
    problems: list[Problem] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            problems.extend(check_value(item, json_path(path, str(key)), rules))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            problems.extend(check_value(item, json_path(path, index), rules))
    return problems


def referenced_secrets(value: Any) -> set[str]:
    """Return the secret names referenced anywhere in a JSON tree.

    A text that does not parse adds none (its syntax error is reported by the checks).
    """
    names: set[str] = set()
    if isinstance(value, str):
        try:
            template = parse_template(value)
        except TemplateSyntaxError:
            return names
        for reference in template.references:
            if (
                reference.root == "secrets"
                and reference.path
                and isinstance(reference.path[0], str)
            ):
                names.add(reference.path[0])
    elif isinstance(value, Mapping):
        for item in value.values():
            names |= referenced_secrets(item)
    elif isinstance(value, list | tuple):
        for item in value:
            names |= referenced_secrets(item)
    return names
