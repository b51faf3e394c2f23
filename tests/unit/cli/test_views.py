"""The live view and the plain log say what the run is doing."""

from __future__ import annotations

import io
import time

from rich.console import Console

from callout.cli.live_view import LiveView
from callout.cli.plain_log import PlainLog
from callout.store.protocol import StoredAttempt, StoredRun, StoredStepRun

T0 = 1_800_000_000.0


def snapshot(step_status: str, due_at: float | None, run_status: str = "running") -> StoredRun:
    attempt = StoredAttempt(
        id="att_1",
        number=1,
        status="failed",
        started_at=T0,
        ended_at=T0 + 0.012,
        http_status=503,
        error={"type": "http_status", "message": "the server answered 503", "status": 503},
        request=None,
        response=None,
        next_attempt_at=T0 + 5.012,
    )
    step = StoredStepRun(
        id="stp_1",
        position=0,
        step_id="create_user",
        status=step_status,
        due_at=due_at,
        output=None,
        error=None,
        resumed_from=None,
        interruptions=0,
        attempts=(attempt,),
    )
    return StoredRun(
        id="wfr_1",
        workflow_name="Create user",
        document={},
        trigger={},
        status=run_status,
        created_at=T0,
        updated_at=T0,
        finished_at=None,
        steps=(step,),
    )


def test_live_view_shows_step_attempts_and_countdown() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    view = LiveView(console)
    view.update(snapshot("waiting", time.time() + 42))
    console.print(view.render())
    text = out.getvalue()
    assert "create_user" in text
    assert "the server answered 503" in text
    assert "retry in 4" in text  # 42 s minus the moment the test took


def test_plain_log_has_a_line_per_event_once() -> None:
    out = io.StringIO()
    log = PlainLog(out)
    log.update(snapshot("waiting", T0 + 5.012))
    log.update(snapshot("waiting", T0 + 5.012))
    log.update(snapshot("errored", None, run_status="failed"))
    assert out.getvalue().splitlines() == [
        "[create_user] attempt 1: http_status: the server answered 503 (12 ms)",
        "[create_user] next attempt in 5.0 s",
        "[create_user] errored",
        "run wfr_1 failed",
    ]
