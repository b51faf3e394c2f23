"""The log line of an errored step names the error, never a body (the server's or ours)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from callout.http import InboundResponse
from callout.http.testing import MockTransport
from support.running import run_workflow, workflow_of

MARKER = "body-marker-7f3a"
"""In every body the server answers: found in a log line, a body reached the log."""


def step(**config: Any) -> dict[str, Any]:
    return {
        "id": "a",
        "action": "make_https_request",
        "url": "https://api.test/x",
        "body": {"sent": MARKER},
        **config,
    }


def answering(status: int) -> MockTransport:
    body = f'{{"echo": "{MARKER}", "detail": "{MARKER}"}}'.encode()
    return MockTransport(
        lambda _: InboundResponse(status, (("Content-Type", "application/json"),), body)
    )


def errored_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if "errored" in record.getMessage()]


@pytest.mark.parametrize(
    ("status", "config", "logged"),
    [
        (503, {}, "errored: http_status (HTTP status 503): (see the attempt record)"),
        (
            200,
            {"response_schema": {"type": "array"}},  # the mismatch message quotes the body
            "errored: schema_mismatch (HTTP status 200): (see the attempt record)",
        ),
    ],
    ids=["status", "schema-mismatch"],
)
async def test_an_errored_step_logs_its_error_type_and_status_but_no_body(
    status: int, config: dict[str, Any], logged: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="callout.engine")

    record = await run_workflow(workflow_of(step(**config)), transport=answering(status))

    assert record.status == "failed"
    error = record.steps[0].error
    assert error is not None
    assert MARKER in str(error)  # the record keeps what the log leaves out
    [line] = errored_lines(caplog)
    assert line.endswith(logged)
    assert MARKER not in caplog.text


async def test_an_error_of_our_own_logs_its_message_cut_short(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="callout.engine")
    long_name = "k" * 400

    record = await run_workflow(
        workflow_of(step(body={"e": f"{{{{ trigger.{long_name} }}}}"})),
        transport=answering(200),
        trigger={"other": MARKER},
    )

    assert record.status == "failed"
    [line] = errored_lines(caplog)
    assert "errored: unresolved_reference (HTTP status none): {{ trigger.kkk" in line
    assert len(line) < 400
    assert MARKER not in caplog.text
