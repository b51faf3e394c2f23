"""The plan gate: actions some plans lack.

A workflow whose steps use an action the organization's plan lacks is refused
when it is published, test-run or triggered; drafts may still be saved.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from callout.model.errors import CalloutError, Problem
from callout.model.plans import Plan, action_allowed, plan_names, plans_with
from callout.steps.catalogue import find_action


class PlanError(CalloutError):
    """The organization's plan does not include an action the workflow uses."""

    def __init__(self, action: str, plan: Plan, problems: list[Problem]) -> None:
        self.action = action
        self.plan = plan
        self.plans = plans_with(action)
        self.problems = tuple(problems)
        found = find_action(action)
        title = found.title if found is not None else action
        super().__init__(
            f"The {title} step is available on the {plan_names(self.plans)} plans; "
            f"this organization is on the {plan.value.capitalize()} plan"
        )


def check_plan(document: Any, plan: Plan) -> None:
    """Raise PlanError when a step of `document` uses an action `plan` lacks.

    Reads the raw document, so the gate holds for drafts that are not valid yet.
    """
    steps = document.get("steps") if isinstance(document, Mapping) else None
    if not isinstance(steps, list):
        return
    refused: dict[str, list[Problem]] = {}
    for index, step in enumerate(steps):
        action = step.get("action") if isinstance(step, Mapping) else None
        if isinstance(action, str) and not action_allowed(action, plan):
            refused.setdefault(action, []).append(
                Problem(f"steps[{index}].action", f"{action} is not on the {plan.value} plan")
            )
    for action, problems in refused.items():
        raise PlanError(action, plan, problems)
