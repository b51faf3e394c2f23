"""The service's log: one line per event on standard error, plain by default or JSON.

`--log-format json` (or `CALLOUT_LOG_FORMAT=json`) on `serve`, `api` and
`worker` writes each line as one JSON object: `time` (UTC, RFC 3339), `level`,
`logger`, `message`, and the ids of the work it concerns (`run_id`, `step_id`,
`step_run_id`, `attempt_id`) where it concerns a claimed step run; an
exception's traceback goes in `error`, inside the same line. What a line says
is the same in both formats: ids, types, statuses and callout's own messages,
never a body, a header or a secret (docs/metrics.md).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import click

from callout.engine.log_fields import LOG_FIELDS

LOG_FORMAT_ENV = "CALLOUT_LOG_FORMAT"
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

log_format_option = click.option(
    "--log-format",
    type=click.Choice(["plain", "json"], case_sensitive=False),
    default="plain",
    show_default=True,
    envvar=LOG_FORMAT_ENV,
    help="Log lines as text, or as one JSON object each (with run and step ids). "
    f"[env: {LOG_FORMAT_ENV}]",
)

_json_lines = False
"""Whether this process logs JSON (set once, at start, by `configure_logging`)."""


class JsonLines(logging.Formatter):
    """Formats a record as one JSON object on one line."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as JSON: time, level, logger, message, ids, error."""
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in LOG_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        # ensure_ascii: a line is plain ASCII whatever a message holds; no raw newline.
        return json.dumps(line, default=str)


def configure_logging(log_format: str) -> None:
    """Log INFO and up to standard error, plain or JSON (once per process, at start)."""
    global _json_lines  # noqa: PLW0603 - the process's one log format, set at its start
    _json_lines = log_format == "json"
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines() if _json_lines else logging.Formatter(PLAIN_FORMAT))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    logging.getLogger("alembic").setLevel(logging.WARNING)


def logs_json() -> bool:
    """Whether this process writes JSON log lines."""
    return _json_lines


def announce(text: str, *, level: int = logging.INFO, logger: str = "callout") -> None:
    """Tell the operator something on standard error: as it is, or as a JSON log line."""
    if _json_lines:
        logging.getLogger(logger).log(level, "%s", text)
    else:
        click.echo(text, err=True)
