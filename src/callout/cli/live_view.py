"""The live view of a run on a terminal: each step, its attempts, the countdown to a retry."""

from __future__ import annotations

import time
from typing import Self

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from callout.cli.plain_log import describe_attempt
from callout.model.records import AttemptRecord, RunRecord, StepRunRecord, StepStatus

_STYLES = {
    StepStatus.PENDING: ("·", "dim"),
    StepStatus.RUNNING: ("▶", "bold cyan"),
    StepStatus.WAITING: ("⏳", "yellow"),
    StepStatus.SUCCEEDED: ("✔", "green"),
    StepStatus.ERRORED: ("✘", "bold red"),
    StepStatus.SKIPPED: ("-", "dim"),
    StepStatus.CANCELLED: ("-", "dim"),
}


class LiveView:
    """Redraws the run a few times a second while it works."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._run: RunRecord | None = None
        self._due: dict[str, float] = {}
        self._sending: dict[str, int] = {}
        self._live = Live(
            console=console, get_renderable=self._render, refresh_per_second=8, transient=False
        )

    def __enter__(self) -> Self:
        self._live.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._live.stop()

    def _render(self) -> RenderableType:
        run = self._run
        if run is None:
            return Text("starting…", style="dim")
        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        table.add_column("")
        table.add_column("step")
        table.add_column("attempts", justify="right")
        table.add_column("last outcome")
        table.add_column("next")
        now = time.time()
        for step in run.steps:
            mark, style = _STYLES[step.status]
            last = describe_attempt(step.attempts[-1]) if step.attempts else ""
            nxt = ""
            if step.status is StepStatus.WAITING and step.id in self._due:
                nxt = f"retry in {max(0.0, self._due[step.id] - now):.1f} s"
            elif step.status is StepStatus.RUNNING and step.id in self._sending:
                nxt = f"sending attempt {self._sending[step.id]}…"
            table.add_row(
                Text(mark, style=style),
                Text(step.step_id, style=style),
                str(len(step.attempts)),
                last,
                nxt,
            )
        title = Text.assemble(
            ("run ", "dim"),
            (run.id, "bold"),
            ("  ", ""),
            (run.workflow_name, "italic"),
            ("  ", ""),
            (run.status.value, "bold"),
        )
        return Group(title, table)

    def step_started(self, run: RunRecord, step: StepRunRecord) -> None:
        """Show the step as running."""
        self._run = run

    def attempt_started(self, run: RunRecord, step: StepRunRecord, number: int) -> None:
        """Show that an attempt is being sent."""
        self._run = run
        self._sending[step.id] = number

    def attempt_finished(self, run: RunRecord, step: StepRunRecord, attempt: AttemptRecord) -> None:
        """Show the attempt's outcome."""
        self._sending.pop(step.id, None)

    def waiting(self, run: RunRecord, step: StepRunRecord, until: float) -> None:
        """Start the countdown."""
        self._due[step.id] = until

    def step_finished(self, run: RunRecord, step: StepRunRecord) -> None:
        """Show the step's end."""
        self._run = run
        self._due.pop(step.id, None)

    def run_finished(self, run: RunRecord) -> None:
        """Show the run's end."""
        self._run = run
        self._live.refresh()
