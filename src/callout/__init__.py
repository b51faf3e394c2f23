"""callout: a self-hosted workflow engine built around the Make HTTPS Request step."""

__version__ = "0.1.0"

__all__ = ["__version__"]
