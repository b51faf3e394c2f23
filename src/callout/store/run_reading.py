"""What the API reads of runs: a run's summary, its trimmed view, one step run, its trigger.

The run view (`GET /v1/runs/{id}`) is bounded in size whatever the run holds: it
spends at most `VIEW_BUDGET_CHARS` on bodies and values. Each field that can be
large (a body, an output's headers, an error message, a URL) gets an equal share
of it (`field_share`), between `VIEW_MIN_CHARS` and `VIEW_MAX_CHARS` (so only a
run of over 4,000 such fields, resumed again and again, spends more: 256
characters a field); each step run shows its latest `VIEW_ATTEMPTS` attempts. A
body that does not fit becomes the first characters of its text (of its JSON
text, for JSON) with `body_truncated: true` (`run_view_pieces.py` says how each
record is cut). `step_run` gives one step run whole: its output, its error and
every attempt as recorded (docs/service.md, "Reading a run"). `activity` counts
an organization's runs by workflow, hour and status, in one query (the dashboard's
charts, docs/dashboard.md).

No SQLAlchemy here: `SqlRunReading` cuts in SQL, `MemoryRunReading` in Python,
and both pass the same contract tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from callout.store.protocol import StoredRun, StoredStepRun

VIEW_BUDGET_CHARS = 1024 * 1024
"""Characters of bodies and values a run view holds at most, all fields together."""

VIEW_MAX_CHARS = 16 * 1024
"""The most characters one field gets (the trigger always gets this much)."""

VIEW_MIN_CHARS = 256
"""The fewest characters one field gets, however many the run has."""

VIEW_ATTEMPTS = 5
"""How many attempts of each step run the run view shows: the latest ones."""

WHOLE_RECORD_CHARS = 8 * 1024 * 1024
"""The share a field gets when one step run is read whole: more than a record written
within the output budget holds (1 MiB of body, up to 6 characters a byte as stored JSON);
only a record from before the budget could be longer, and is cut like in the run view."""

_FIELDS_PER_STEP_RUN = 5  # output: headers, error, body; error: message, body
_FIELDS_PER_ATTEMPT = 7  # request: url, headers, body; response: headers, body; error: 2


def field_share(step_runs_count: int, attempts_shown: int) -> int:
    """Return the characters each field gets in a view of this many step runs and attempts."""
    fields = 1 + _FIELDS_PER_STEP_RUN * step_runs_count + _FIELDS_PER_ATTEMPT * attempts_shown
    return max(VIEW_MIN_CHARS, min(VIEW_MAX_CHARS, VIEW_BUDGET_CHARS // fields))


@dataclass(frozen=True, slots=True)
class RunView:
    """A run cut to size: `run` holds the latest attempts and every value within its share.

    `attempts_total` gives each step run's number of attempts (by step run id);
    `trigger_truncated` says the trigger is the first `VIEW_MAX_CHARS` of its JSON text.
    """

    run: StoredRun
    attempts_total: Mapping[str, int]
    trigger_truncated: bool
    field_chars: int


@dataclass(frozen=True, slots=True)
class ActivityCount:
    """How many runs of one workflow, started within one time bucket, have one status."""

    workflow_id: str
    bucket: int  # 0 is the bucket starting at `since`
    status: str
    runs: int


class RunReading(Protocol):
    """The reads the API makes of recorded runs, by intent. Each raises UnknownRunError."""

    async def run_summary(self, run_id: str) -> StoredRun:
        """Return a run without its steps, trigger or document (ownership checks, lists)."""
        ...

    async def run_view(self, run_id: str) -> RunView:
        """Return the run view: every step run, its latest attempts, each value cut to its share.

        The run and its steps are read as one state of the store.
        """
        ...

    async def step_run(self, run_id: str, step_run_id: str) -> StoredStepRun:
        """Return one step run of a run whole: output, error and every attempt as recorded."""
        ...

    async def trigger(self, run_id: str) -> Any:
        """Return a run's whole trigger payload (1 MiB at most when it was accepted)."""
        ...

    async def activity(
        self,
        *,
        org_id: str,
        since: float,
        bucket_seconds: int,
        buckets: int,
        workflow_id: str | None = None,
    ) -> list[ActivityCount]:
        """Count an organization's runs by workflow, time bucket and status, in one query.

        Counts the runs created in `[since, since + bucket_seconds * buckets)` (of one
        workflow when `workflow_id` is given; runs of no workflow never count); bucket
        `i` holds those created in `[since + i * bucket_seconds, ...)`. Only non-zero
        counts are listed, sorted by workflow, bucket and status.
        """
        ...
