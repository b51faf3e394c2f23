"""The live view of a run on a terminal: each step, its attempts, the countdown to a retry."""

from __future__ import annotations

import time
from typing import Self

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from callout.cli.plain_log import describe_attempt
from callout.store.protocol import StoredRun, StoredStepRun

_STYLES = {
    "pending": ("·", "dim"),
    "running": ("▶", "bold cyan"),
    "waiting": ("⏳", "yellow"),
    "succeeded": ("✔", "green"),
    "errored": ("✘", "bold red"),
    "skipped": ("-", "dim"),
    "cancelled": ("-", "dim"),
}


def _next(step: StoredStepRun, now: float) -> str:
    if step.status == "waiting" and step.due_at is not None:
        return f"retry in {max(0.0, step.due_at - now):.1f} s"
    if step.status == "running":
        sending = bool(step.attempts) and step.attempts[-1].ended_at is None
        return f"sending attempt {len(step.attempts) + (0 if sending else 1)}…"
    return ""


class LiveView:
    """Redraws the run a few times a second while it works."""

    def __init__(self, console: Console) -> None:
        self._run: StoredRun | None = None
        self._live = Live(
            console=console, get_renderable=self.render, refresh_per_second=8, transient=False
        )

    def __enter__(self) -> Self:
        self._live.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._live.stop()

    def update(self, run: StoredRun) -> None:
        """Show this snapshot of the run."""
        self._run = run

    def render(self) -> RenderableType:
        """Draw the run: a title line and a row per step."""
        run = self._run
        if run is None:
            return Text("starting…", style="dim")
        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        for column in ("", "step", "attempts", "last outcome", "next"):
            table.add_column(column)
        now = time.time()
        for step in run.steps:
            mark, style = _STYLES.get(step.status, ("?", ""))
            ended = [a for a in step.attempts if a.ended_at is not None]
            last = describe_attempt(ended[-1]) if ended else ""
            table.add_row(
                Text(mark, style=style),
                Text(step.step_id, style=style),
                str(len(ended)),
                last,
                _next(step, now),
            )
        title = Text.assemble(
            ("run ", "dim"),
            (run.id, "bold"),
            ("  ", ""),
            (run.workflow_name, "italic"),
            ("  ", ""),
            (run.status, "bold"),
        )
        return Group(title, table)
