"""What the service asks of a store about organizations, API keys, dashboard sessions and secrets.

(Skeleton: filled in by the service-store contract work of issue 10.)
"""

from __future__ import annotations

from typing import Protocol


class AccountRecords(Protocol):
    """Organizations, their API keys, dashboard sessions and secrets, by intent."""
