"""A secret's value leaves callout only in the request it signs: never in an answer, row or log."""

from __future__ import annotations

import base64
import json
import logging
import math
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest

from callout.signing import verify
from callout.web import install_dashboard
from support.api_clients import Service, document, finished_run, working
from support.https_servers import HttpsServer, reply

MARKER = "inq_leak_marker"
"""A trigger payload value: found in the database, it proves the scan reads what was written."""


def encoded_forms(value: str) -> dict[str, bytes]:
    """The value in each spelling callout writes it, and its base64 at any byte alignment.

    The spellings: as is, percent-encoded (a URL's path or query), form-encoded,
    JSON-escaped with and without ASCII escapes. Base64 of a text that holds the
    value at offset 0, 1 or 2 (mod 3) contains the characters made only of the
    value's bits; each alignment gives one such run.
    """
    raw = value.encode()
    forms = {
        "plain": raw,
        "percent": quote(value, safe="").encode(),
        "form": quote_plus(value, safe="").encode(),
        "json": json.dumps(value, ensure_ascii=False)[1:-1].encode(),
        "json-ascii": json.dumps(value)[1:-1].encode(),
    }
    for shift in range(3):
        padded = b"\0" * shift + raw
        first = math.ceil(shift * 4 / 3)
        last = (len(padded) * 8) // 6
        forms[f"base64+{shift}"] = base64.b64encode(padded)[first:last]
        forms[f"urlsafe_base64+{shift}"] = base64.urlsafe_b64encode(padded)[first:last]
    return forms


def leaks_in(haystack: bytes, value: str) -> list[str]:
    """Name each form of `value` found in `haystack`."""
    return [name for name, form in encoded_forms(value).items() if form in haystack]


def record_answers(client: httpx.AsyncClient) -> list[bytes]:
    """Keep every answer the client receives (status line, headers and body)."""
    answers: list[bytes] = []

    async def keep(response: httpx.Response) -> None:
        await response.aread()
        head = f"{response.status_code} {response.request.method} {response.request.url}\n"
        headers = "".join(f"{k}: {v}\n" for k, v in response.headers.items())
        answers.append((head + headers).encode() + response.content)

    client.event_hooks["response"].append(keep)
    return answers


def leaky_document(url: str, confirm_url: str) -> dict[str, Any]:
    """Two steps: the first uses `secrets.x` everywhere it may; the second reads its echo."""
    doc = document(
        url + "?key={{ secrets.x }}",
        secret="{{ secrets.x }}",
        headers=[
            {"key": "Authorization", "value": "Bearer {{ secrets.x }}"},
            {"key": "X-Token", "value": "{{ secrets.x }}"},
        ],
        body={"inquiry": "{{ trigger.id }}", "token": "{{ secrets.x }}"},
    )
    doc["steps"].append(
        {
            "id": "confirm",
            "action": "make_https_request",
            "url": confirm_url,
            "body": {"seen": "{{ steps.create_user.body.echo }}"},
            "continue_on_error": True,
        }
    )
    return doc


async def use_everywhere(
    service: Service, server: HttpsServer, value: str
) -> tuple[list[bytes], dict[str, Any], dict[str, Any], str]:
    """Use the secret `x` = `value` in a step test and a run, then read every resource.

    Returns every answer received, the finished run, the step test's answer, and the
    organization's API key.
    """
    echo = json.dumps({"id": "u_1", "echo": value, "again": f"prefix {value} suffix"})
    server.script("/users", reply(200, echo, headers={"X-Echo": value}))
    server.script("/confirm", reply(404, echo, headers={"X-Echo": value}))
    acme = await service.org()
    answers = record_answers(acme.client)
    await acme.ok("POST", "/v1/secrets", 201, json={"name": "x", "value": value})
    doc = leaky_document(server.url("/users"), server.url("/confirm"))
    created = await acme.ok("POST", "/v1/workflows", 201, json={"document": doc})
    workflow_id = created["workflow"]["id"]
    assert created["draft"]["problems"] == []
    tested = await acme.ok(
        "POST",
        f"/v1/workflows/{workflow_id}/steps/create_user/test",
        json={"trigger": {"id": "inq_sample"}},
    )
    await acme.ok("POST", f"/v1/workflows/{workflow_id}/publish")
    started = await acme.ok(
        "POST", f"/v1/workflows/{workflow_id}/trigger", 202, json={"payload": {"id": MARKER}}
    )
    async with working(service):
        run = await finished_run(acme, started["run_id"])
    for path in (
        "/v1/secrets",
        "/v1/secrets/x",
        "/v1/runs",
        f"/v1/runs/{started['run_id']}",
        "/v1/trigger-calls",
        "/v1/workflows",
        f"/v1/workflows/{workflow_id}",
        f"/v1/workflows/{workflow_id}/versions",
        f"/v1/workflows/{workflow_id}/versions/live",
    ):
        await acme.ok("GET", path)
    await acme.ok("POST", "/v1/secrets/x/rotate", json={"value": f"{value}-next"})
    return answers, run, tested, acme.key


def assert_sent_and_recorded_redacted(
    server: HttpsServer, run: dict[str, Any], tested: dict[str, Any], value: str
) -> None:
    """The value went out where the document put it, and every record shows `[redacted]`."""
    assert run["status"] == "completed"
    assert tested["outcome"] == "succeeded"
    test_hit, run_hit = server.hits_on("/users")
    for hit in (test_hit, run_hit):
        assert hit.headers["Authorization"] == f"Bearer {value}"
        assert hit.headers["X-Token"] == value
        assert json.loads(hit.body)["token"] == value
        assert verify(hit.headers["Persona-Signature"], hit.body, value)
    [confirm_hit] = server.hits_on("/confirm")
    assert json.loads(confirm_hit.body) == {"seen": "[redacted]"}
    first, second = run["steps"]
    assert first["output"]["body"]["echo"] == "[redacted]"
    assert first["output"]["body"]["again"] == "prefix [redacted] suffix"
    assert first["output"]["headers"]["x-echo"] == "[redacted]"
    request = first["attempts"][0]["request"]
    assert ["X-Token", "[redacted]"] in request["headers"]
    assert ["Authorization", "Bearer [redacted]"] in request["headers"]
    assert request["url"].endswith("?key=[redacted]")
    assert second["status"] == "errored"
    assert second["error"]["body"]["echo"] == "[redacted]"
    assert tested["output"]["body"]["echo"] == "[redacted]"


def database_files(folder: Path) -> dict[str, bytes]:
    """The bytes of each file in the test's folder: the SQLite file, its -wal and -shm."""
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()}


async def dashboard_pages(service: Service, key: str, run: dict[str, Any]) -> list[bytes]:
    """Sign in to the dashboard with `key`; return the pages a person would open."""
    install_dashboard(service.app)
    browser = service.client()
    signed_in = await browser.post(
        "/sign-in", data={"api_key": key}, headers={"Origin": "http://callout.test"}
    )
    assert signed_in.status_code == 303, signed_in.text
    pages: list[bytes] = []
    for path in ("/workflows", f"/workflows/{run['workflow_id']}", "/runs", f"/runs/{run['id']}"):
        page = await browser.get(path)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        pages.append(page.content)
    return pages


@pytest.mark.parametrize(
    "special",
    ["", ' "quoted" back\\slash +plus/slash=eq%25&amp?q#h é 😀'],
    ids=["plain", "characters-that-change-under-encoding"],
)
async def test_a_secret_value_is_in_no_answer_database_byte_or_log_in_any_encoding(
    special: str,
    *,
    sqlite_service: Service,
    https_server: HttpsServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        caplog.set_level(logging.DEBUG, logger=name)
    value = f"sv-{uuid.uuid4().hex}{special}"

    answers, run, tested, key = await use_everywhere(sqlite_service, https_server, value)
    pages = await dashboard_pages(sqlite_service, key, run)

    assert_sent_and_recorded_redacted(https_server, run, tested, value)
    assert len(answers) >= 15
    for answer in answers:
        assert leaks_in(answer, value) == [], answer[:200]
    for page in pages:
        assert leaks_in(page, value) == [], page[:200]
    files = database_files(tmp_path)
    assert "callout.db" in files
    assert set(files) & {"callout.db-wal", "callout.db-shm"}
    assert MARKER.encode() in b"".join(files.values())  # the scan reads what was written
    for file_name, content in files.items():
        assert leaks_in(content, value) == [], file_name
    logged = caplog.text + "\n".join(
        f"{record.getMessage()} {record.args!r} {record.__dict__!r}" for record in caplog.records
    )
    assert MARKER in logged  # the SQL sent was logged with its parameters: the scan saw it
    assert leaks_in(logged.encode(), value) == []
    printed = capsys.readouterr()
    assert leaks_in((printed.out + printed.err).encode(), value) == []
