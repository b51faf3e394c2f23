"""The Make HTTPS Request step."""

from callout.steps.https_request.action import HttpsRequestAction
from callout.steps.https_request.config import HttpsRequestConfig

__all__ = ["HttpsRequestAction", "HttpsRequestConfig"]
