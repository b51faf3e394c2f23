"""Checking a workflow document for the organization that holds it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from callout.engine.plan_gate import PlanError, check_plan
from callout.model.errors import DocumentError, Problem
from callout.model.json_input import JsonInputError, check_json_value
from callout.model.json_output import compact_json
from callout.model.loading import MAX_DOCUMENT_BYTES, document_problem
from callout.model.plans import Plan
from callout.steps.validation import validate_workflow

UNTITLED = "Untitled workflow"


def name_of(document: Mapping[str, Any]) -> str:
    """Return the name a workflow is listed under (its document's, while it has one)."""
    name = document.get("name")
    if isinstance(name, str):
        # PostgreSQL text cannot hold NUL; a name is for listing, so it is dropped there.
        name = name.replace("\x00", "").strip()
    return name[:200] if isinstance(name, str) and name else UNTITLED


def check_size(value: Any, what: str) -> int:
    """Return the size of `value` as JSON; DocumentError when over the 1 MiB limit."""
    # A lone surrogate counts its 3 bytes here instead of crashing; the JSON reader
    # refuses it with its path (bodies are checked before routes run).
    size = len(compact_json(value))
    if size > MAX_DOCUMENT_BYTES:
        raise DocumentError([Problem(what, f"is {size} bytes; at most {MAX_DOCUMENT_BYTES}")])
    return size


def json_problems(document: Any) -> list[Problem]:
    """Return how a stored document breaks the JSON rules (one stored before they held)."""
    try:
        check_json_value(document)
    except JsonInputError as exc:
        return [document_problem(exc)]
    return []


def problems_of(
    document: Any, *, plan: Plan, secrets: frozenset[str], allow_http: bool
) -> list[Problem]:
    """Return every problem publishing would report: the plan's, then the document's."""
    problems = json_problems(document)
    if problems:
        # Nothing else is checked on a value that breaks the JSON rules (too deep to walk).
        return problems
    try:
        check_plan(document, plan)
    except PlanError as exc:
        problems += [Problem(p.path, str(exc)) for p in exc.problems]
    try:
        validate_workflow(document, secrets=secrets, allow_http=allow_http)
    except DocumentError as exc:
        problems += exc.problems
    return problems


def publish_check(
    document: Any, *, plan: Plan, secrets: frozenset[str], allow_http: bool
) -> str | None:
    """Check a draft for publishing: raise to refuse it, or return the event it listens to.

    The plan gate first (PlanError, 403), then every problem at once (DocumentError,
    422). Pure CPU work: run it before the publish's write, off the event loop.
    """
    problems = json_problems(document)
    if problems:
        raise DocumentError(problems)
    check_plan(document, plan)
    valid = validate_workflow(document, secrets=secrets, allow_http=allow_http)
    return valid.document.trigger.event
