"""The dashboard: server-rendered pages whose small JavaScript modules call the /v1 API."""

from callout.web.dashboard import install_dashboard

__all__ = ["install_dashboard"]
