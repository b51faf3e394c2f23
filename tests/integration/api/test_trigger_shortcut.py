"""The trigger routes' shortcut answers exactly as FastAPI's own path does (`api/shortcuts.py`).

Each call is sent twice to the same app: once with shortcuts on (the default),
once with `app.state.shortcuts = False`. The answers must match byte for byte,
ids aside: status, body and the headers a client reads. The calls cover what the
shortcut answers itself (accepted, refused by a workflow, replayed, a key reused)
and what it leaves to FastAPI (every malformed call, no key, an unknown key).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import routing as fastapi_routing

from support.api_clients import Org, Service, document

URL = "https://api.test/users"
IDS = re.compile(rb'"(trg|wfr)_[0-9A-Z]+"')
READ_HEADERS = ("content-type", "content-length", "idempotent-replayed", "retry-after")


def listening_to(event: str, **trigger: Any) -> dict[str, Any]:
    doc = document(URL)
    doc["trigger"] = {**doc["trigger"], "event": event, **trigger}
    return doc


async def published(org: Org, doc: dict[str, Any]) -> str:
    created = await org.ok("POST", "/v1/workflows", 201, json={"document": doc})
    workflow_id = str(created["workflow"]["id"])
    await org.ok("POST", f"/v1/workflows/{workflow_id}/publish")
    return workflow_id


def answer(response: httpx.Response) -> tuple[int, bytes, dict[str, str]]:
    """What a client reads of an answer, its run and call ids masked."""
    headers = {name: response.headers[name] for name in READ_HEADERS if name in response.headers}
    return response.status_code, IDS.sub(b'"id"', response.content), headers


async def both_ways(service: Service, client: httpx.AsyncClient, **request: Any) -> Any:
    """Send `request` with the shortcut, then without; assert the answers match; return it."""
    state = service.app.state
    answers = []
    for shortcuts in (True, False):
        state.shortcuts = shortcuts
        try:
            answers.append(answer(await client.request(**request)))
        finally:
            state.shortcuts = True
    assert answers[0] == answers[1]
    return answers[0]


@contextmanager
def dependencies_solved() -> Iterator[list[int]]:
    """Count FastAPI's dependency solving (its per-request path) meanwhile."""
    solved: list[int] = []
    solve = vars(fastapi_routing)["solve_dependencies"]

    async def counted(*args: Any, **kwargs: Any) -> Any:
        solved.append(1)
        return await solve(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fastapi_routing, "solve_dependencies", counted)
        yield solved


@contextmanager
def routes_handled() -> Iterator[list[str]]:
    """Note each request FastAPI's router hands to a route meanwhile (by the route's path)."""
    handled: list[str] = []
    handle = fastapi_routing.APIRoute.handle

    async def noted(route: fastapi_routing.APIRoute, *args: Any) -> None:
        handled.append(route.path)
        await handle(route, *args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fastapi_routing.APIRoute, "handle", noted)
        yield handled


async def test_a_shortcut_answers_before_fastapis_routing_and_leaves_the_rest_to_it(
    sqlite_service: Service,
) -> None:
    acme = await sqlite_service.org()
    workflow_id = await published(acme, listening_to("user.created"))
    with routes_handled() as handled, dependencies_solved() as solved:
        event = await acme.client.post(
            "/v1/events", json={"name": "user.created", "payload": {"id": "u1"}}
        )
        started = await acme.client.post(
            f"/v1/workflows/{workflow_id}/trigger", json={"payload": {"id": "u1"}}
        )
    assert (event.status_code, started.status_code) == (202, 202)
    assert (handled, solved) == ([], [])  # neither went through the router
    with routes_handled() as handled, dependencies_solved() as solved:
        unknown = await acme.client.post(  # declined by the shortcut: FastAPI answers
            "/v1/events",
            json={"name": "user.created"},
            headers={"Authorization": "Bearer unknown-key"},
        )
    assert unknown.status_code == 401
    assert handled == ["/v1/events"]
    assert solved == [1]  # FastAPI's own path


async def test_accepted_calls_answer_alike_and_skip_fastapis_dependencies(
    sqlite_service: Service,
) -> None:
    acme = await sqlite_service.org()
    workflow_id = await published(acme, listening_to("user.created"))
    await published(  # a second listener that refuses the payload
        acme,
        listening_to("user.created", schema={"type": "object", "required": ["email"]}),
    )
    with dependencies_solved() as solved:
        event = await acme.client.post(
            "/v1/events", json={"name": "user.created", "payload": {"id": "u1"}}
        )
        started = await acme.client.post(
            f"/v1/workflows/{workflow_id}/trigger", json={"payload": {"id": "u1"}}
        )
    assert (event.status_code, started.status_code) == (202, 202)
    assert solved == []  # both answered by their shortcut
    status, body, _ = await both_ways(
        sqlite_service,
        acme.client,
        method="POST",
        url="/v1/events",
        json={"name": "user.created", "payload": {"id": "ü"}},
    )
    assert status == 202
    assert b'"refused":[{' in body  # the second listener wants an email
    assert b'"runs":[{' in body
    status, _, _ = await both_ways(
        sqlite_service,
        acme.client,
        method="POST",
        url=f"/v1/workflows/{workflow_id}/trigger",
        json={"payload": {"id": "u2"}},
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert status == 202
    status, body, _ = await both_ways(  # refused by the trigger schema: recorded, answered
        sqlite_service,
        acme.client,
        method="POST",
        url=f"/v1/workflows/{workflow_id}/trigger",
        json={"payload": None},
    )
    assert status == 422
    assert b"invalid_payload" in body


async def test_keys_replays_and_reused_keys_answer_alike(sqlite_service: Service) -> None:
    acme = await sqlite_service.org()
    workflow_id = await published(acme, listening_to("user.created"))
    path = f"/v1/workflows/{workflow_id}/trigger"
    with dependencies_solved() as solved:
        first = await acme.client.post(
            path, json={"payload": {"id": "1"}}, headers={"Idempotency-Key": "k1"}
        )
        again = await acme.client.post(
            path, json={"payload": {"id": "1"}}, headers={"Idempotency-Key": "k1"}
        )
    assert solved == []
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    replayed = await both_ways(
        sqlite_service,
        acme.client,
        method="POST",
        url=path,
        json={"payload": {"id": "1"}},
        headers={"Idempotency-Key": "k1"},
    )
    assert replayed[2]["idempotent-replayed"] == "true"
    reused = await both_ways(
        sqlite_service,
        acme.client,
        method="POST",
        url=path,
        json={"payload": {"id": "2"}},
        headers={"Idempotency-Key": "k1"},
    )
    assert reused[0] == 409


@pytest.mark.parametrize(
    ("path", "body", "headers"),
    [
        ("/v1/events", {"name": "bad name", "payload": 1}, {}),
        ("/v1/events", {"name": "x" * 201}, {}),
        ("/v1/events", {"payload": 1}, {}),
        ("/v1/events", {"name": "user.created", "extra": 1}, {}),
        ("/v1/events", {"name": 5}, {}),
        ("/v1/events", ["user.created"], {}),
        ("/v1/events", None, {}),
        ("/v1/events", {"name": "user.created"}, {"Idempotency-Key": "has space"}),
        ("/v1/events", {"name": "user.created"}, {"Idempotency-Key": "k" * 256}),
        ("/v1/events", {"name": "user.created\n"}, {}),
        ("/v1/events", {"name": "user.created"}, {"Authorization": "Bearer unknown-key"}),
        ("/v1/events", {"name": "user.created"}, {"Authorization": "Basic dXNlcjpwYXNz"}),
        ("/v1/events", {"name": "user.created"}, {"Content-Type": "text/plain"}),
        ("/v1/workflows/wfl_0000000000ZZZZZZZZZZZZZZZZ/trigger", {"payload": 1}, {}),
        ("/v1/workflows/not-an-id/trigger", {"payload": 1}, {}),
        ("/v1/workflows/WORKFLOW/trigger", {"payload": 1, "name": "x"}, {}),
        ("/v1/workflows/WORKFLOW/trigger", {"payload": 1}, {"Idempotency-Key": ""}),
    ],
)
async def test_calls_the_shortcut_leaves_to_fastapi_answer_alike(
    sqlite_service: Service, path: str, body: Any, headers: dict[str, str]
) -> None:
    acme = await sqlite_service.org()
    workflow_id = await published(acme, listening_to("user.created"))
    status, _, _ = await both_ways(
        sqlite_service,
        acme.client,
        method="POST",
        url=path.replace("WORKFLOW", workflow_id),
        json=body,
        headers=headers,
    )
    assert status in (401, 404, 409, 422)


async def test_a_body_without_a_content_type_is_left_to_fastapi(sqlite_service: Service) -> None:
    acme = await sqlite_service.org()
    await published(acme, listening_to("user.created"))
    status, _, _ = await both_ways(
        sqlite_service,
        acme.client,
        method="POST",
        url="/v1/events",
        content=b'{"name": "user.created"}',
        headers={"Content-Type": ""},
    )
    assert status == 422


async def test_two_idempotency_keys_are_left_to_fastapi(sqlite_service: Service) -> None:
    acme = await sqlite_service.org()
    await published(acme, listening_to("user.created"))
    with dependencies_solved() as solved:
        response = await acme.client.post(
            "/v1/events",
            json={"name": "user.created"},
            headers=[("Idempotency-Key", "a1"), ("Idempotency-Key", "b2")],
        )
    assert response.status_code == 202
    assert len(solved) == 1  # FastAPI's path, which reads the first
