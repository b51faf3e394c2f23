"""The actions callout knows, by the name a document uses for them."""

from __future__ import annotations

from types import MappingProxyType

from callout.steps.https_request import HttpsRequestAction
from callout.steps.registry import Action

ACTIONS: MappingProxyType[str, Action] = MappingProxyType(
    {action.name: action for action in (HttpsRequestAction(),)}
)
"""Every action, by name. Wait, Conditional and Update Variable join here when they exist."""


def find_action(name: str) -> Action | None:
    """Return the action called `name`, or None."""
    return ACTIONS.get(name)
