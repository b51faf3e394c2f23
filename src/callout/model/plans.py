"""The plans an organization can be on, and which actions each plan includes.

The original product offers the Make HTTPS Request step on its Growth and
Enterprise plans only; callout keeps that gate so a self-hosted operator can
sell or ration the same way. The server enforces it; a dashboard only mirrors it.
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType


class Plan(StrEnum):
    """An organization's plan."""

    STARTUP = "startup"
    ESSENTIAL = "essential"
    GROWTH = "growth"
    ENTERPRISE = "enterprise"


ACTION_PLANS: MappingProxyType[str, frozenset[Plan]] = MappingProxyType(
    {"make_https_request": frozenset({Plan.GROWTH, Plan.ENTERPRISE})}
)
"""Actions limited to some plans, by action name; an action not listed is on every plan."""


def plans_with(action: str) -> tuple[Plan, ...]:
    """Return the plans that include `action`, in the order plans are listed."""
    allowed = ACTION_PLANS.get(action)
    return tuple(plan for plan in Plan if allowed is None or plan in allowed)


def action_allowed(action: str, plan: Plan) -> bool:
    """Say whether an organization on `plan` may publish or run `action`."""
    allowed = ACTION_PLANS.get(action)
    return allowed is None or plan in allowed


def plan_names(plans: tuple[Plan, ...]) -> str:
    """Name plans for a message: "Growth and Enterprise"."""
    titled = [plan.value.capitalize() for plan in plans]
    if len(titled) <= 1:
        return "".join(titled)
    return ", ".join(titled[:-1]) + " and " + titled[-1]
