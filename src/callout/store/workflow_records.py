"""What the service asks of a store about workflows, their versions and trigger calls.

(Skeleton: filled in by the service-store contract work of issue 10.)
"""

from __future__ import annotations

from typing import Protocol


class WorkflowRecords(Protocol):
    """Workflows, versions, and trigger calls (which start runs), by intent."""
