"""`RunReading` in memory (unit tests), passing the same contract tests as SQL.

It reads the runs a `MemoryStore` holds (through its `get_run`) and cuts them
as the SQL store does: the same shares, the same latest attempts, the same
pieces built back into records (`run_view_pieces.py`). JSON text is measured
as the SQL stores keep it (`json_text`).
"""

from __future__ import annotations

import copy
import math
import sys
from collections import Counter
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from callout.model.clock import Clock
from callout.store.protocol import (
    RunFilter,
    StoredAttempt,
    StoredRun,
    StoredStepRun,
    UnknownRunError,
)
from callout.store.run_reading import (
    VIEW_ATTEMPTS,
    VIEW_MAX_CHARS,
    WHOLE_RECORD_CHARS,
    ActivityCount,
    RunView,
    field_share,
)
from callout.store.run_view_pieces import (
    ERROR,
    OUTPUT,
    REQUEST,
    RESPONSE,
    json_text,
    parsed,
    pieces_of,
    record_from_pieces,
)

if TYPE_CHECKING:
    from callout.store.memory import MemoryStore


def _cut_attempt(attempt: StoredAttempt, cap: int) -> StoredAttempt:
    return replace(
        attempt,
        error=record_from_pieces(pieces_of(attempt.error, ERROR, "e", cap), ERROR, "e"),
        request=record_from_pieces(pieces_of(attempt.request, REQUEST, "q", cap), REQUEST, "q"),
        response=record_from_pieces(pieces_of(attempt.response, RESPONSE, "r", cap), RESPONSE, "r"),
    )


def _cut_step(step: StoredStepRun, cap: int, latest: int | None) -> StoredStepRun:
    shown = step.attempts if latest is None else step.attempts[-latest:]
    return replace(
        step,
        output=record_from_pieces(pieces_of(step.output, OUTPUT, "o", cap), OUTPUT, "o"),
        error=record_from_pieces(pieces_of(step.error, ERROR, "e", cap), ERROR, "e"),
        attempts=tuple(_cut_attempt(attempt, cap) for attempt in shown),
    )


def _trigger_shown(trigger: Any) -> tuple[Any, bool]:
    """Return the trigger as a view shows it: whole, or its JSON text's start (truncated)."""
    text = json_text(trigger)  # as both databases keep a whole column's text
    if len(text) > VIEW_MAX_CHARS:
        return text[:VIEW_MAX_CHARS], True
    return parsed(text)


class MemoryRunReading:
    """The API's reads of the runs recorded in `runs`."""

    def __init__(self, runs: MemoryStore, clock: Clock) -> None:
        self._runs = runs
        self._clock = clock

    async def run_summary(self, run_id: str) -> StoredRun:
        """Return a run without its steps, trigger or document."""
        run = await self._runs.get_run(run_id)
        return replace(run, document=None, trigger=None, steps=())

    async def run_view(self, run_id: str) -> RunView:
        """Return the run view: every step run, its latest attempts, each value cut."""
        run = await self._runs.get_run(run_id)
        counts = {step.id: len(step.attempts) for step in run.steps}
        cap = field_share(len(counts), sum(min(n, VIEW_ATTEMPTS) for n in counts.values()))
        trigger, truncated = _trigger_shown(run.trigger)
        steps = tuple(_cut_step(step, cap, VIEW_ATTEMPTS) for step in run.steps)
        return RunView(
            run=replace(run, document=None, trigger=trigger, steps=steps),
            attempts_total=counts,
            trigger_truncated=truncated,
            field_chars=cap,
        )

    async def step_run(self, run_id: str, step_run_id: str) -> StoredStepRun:
        """Return one step run of a run whole (cut only past `WHOLE_RECORD_CHARS`)."""
        try:
            run = await self._runs.get_run(run_id)
        except UnknownRunError:
            run = None
        found = [step for step in run.steps if step.id == step_run_id] if run else []
        if not found:
            raise UnknownRunError(f"no step run {step_run_id} in run {run_id}")
        return _cut_step(found[0], WHOLE_RECORD_CHARS, None)

    async def trigger(self, run_id: str) -> Any:
        """Return a run's whole trigger payload."""
        run = await self._runs.get_run(run_id)
        return copy.deepcopy(run.trigger)

    async def activity(
        self,
        *,
        org_id: str,
        since: float,
        bucket_seconds: int,
        buckets: int,
        workflow_id: str | None = None,
    ) -> list[ActivityCount]:
        """Count an organization's runs by workflow, time bucket and status."""
        window = RunFilter(
            org_id=org_id,
            workflow_id=workflow_id,
            created_after=since,
            created_before=since + bucket_seconds * buckets,
        )
        counts: Counter[tuple[str, int, str]] = Counter()
        for run in await self._runs.list_runs(where=window, limit=sys.maxsize):
            if run.workflow_id is not None:
                # The arithmetic of the SQL stores: floor of a float division.
                bucket = math.floor((run.created_at - since) / float(bucket_seconds))
                counts[run.workflow_id, bucket, run.status] += 1
        return [
            ActivityCount(workflow_id=w, bucket=b, status=s, runs=n)
            for (w, b, s), n in sorted(counts.items())
        ]
