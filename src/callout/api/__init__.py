"""The REST API (`/v1`): organizations' workflows, versions, secrets, triggers and runs."""

from callout.api.app import create_app
from callout.api.context import ApiContext

__all__ = ["ApiContext", "create_app"]
