"""What the API reads of runs: a run's summary, its trimmed view, one step run, its trigger.

(Skeleton: filled in by the service-store contract work of issue 10.)
"""

from __future__ import annotations

from typing import Protocol


class RunReading(Protocol):
    """The reads the API makes of recorded runs, by intent."""
