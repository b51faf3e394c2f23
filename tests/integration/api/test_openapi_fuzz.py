"""The API fuzzed from its own OpenAPI description: no 5xx, no answer the description denies.

schemathesis generates requests for every operation (valid and invalid ones)
and sends them to the real app in-process, over a real SQLite store, with a
real organization's API key. Path ids are sometimes those of seeded data (a
published workflow with a draft, completed, failed and pending runs, secrets,
a spare API key), so the handlers behind existing resources run too, not only
their 404s. Outbound requests go to a mock transport: step tests and runs
never touch the network.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from callout.api import ApiContext, create_app
from callout.engine.attached import run_attached
from callout.engine.executor import StepExecutor
from callout.http import InboundResponse, MockTransport, OutboundRequest
from callout.model.clock import SystemClock
from callout.model.plans import Plan
from callout.store import SqlStore, database_url, open_store
from callout.store.organizations import create_organization
from callout.store.secrets import StoredOrgSecrets
from support.api_clients import TEST_KEY, document

TARGET = "https://api.example.test"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def answer(request: OutboundRequest) -> InboundResponse:
    """The far side of every step: /users creates a user, anything else is refused."""
    if request.url.endswith("/users"):
        return InboundResponse(201, (("Content-Type", "application/json"),), b'{"id": "usr_1"}')
    return InboundResponse(422, (("Content-Type", "application/json"),), b'{"error": "no"}')


@dataclass(frozen=True, slots=True)
class Seeded:
    """Ids of the data the fuzzer finds in place, by the path parameter that names them."""

    key: str
    ids: dict[str, str]
    """Path parameter -> an existing id, for operations that do not destroy it."""
    destroyable: dict[str, str]
    """Path parameter -> an existing id kept for operations that archive, revoke or delete."""
    event: str


async def _seed(app: FastAPI, store: SqlStore, transport: MockTransport) -> Seeded:
    org, key = await store.write(
        create_organization, name="Fuzz", plan=Plan.GROWTH, now=SystemClock().now()
    )
    executor = StepExecutor(
        store=store, transport=transport, org_secrets=StoredOrgSecrets(store, TEST_KEY)
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://callout.test",
        headers={"Authorization": f"Bearer {key.key}"},
    ) as client:

        async def ok(method: str, path: str, status: int, **kwargs: Any) -> Any:
            response = await client.request(method, path, **kwargs)
            assert response.status_code == status, response.text
            return response.json()

        async def published(url: str) -> tuple[str, str]:
            created = await ok(
                "POST",
                "/v1/workflows",
                201,
                json={"document": document(url, secret="{{ secrets.signing }}")},
            )
            workflow_id = created["workflow"]["id"]
            version = await ok("POST", f"/v1/workflows/{workflow_id}/publish", 200)
            return workflow_id, version["id"]

        async def run_of(workflow_id: str, *, execute: bool) -> str:
            started = await ok(
                "POST",
                f"/v1/workflows/{workflow_id}/trigger",
                202,
                json={"payload": {"id": "inq_1"}},
            )
            run_id: str = started["run_id"]
            if execute:
                await run_attached(store, executor, run_id, clock=SystemClock())
            return run_id

        await ok("POST", "/v1/secrets", 201, json={"name": "signing", "value": "s3cr3t-fuzz"})
        await ok("POST", "/v1/secrets", 201, json={"name": "doomed", "value": "s3cr3t-doomed"})
        spare = await ok("POST", "/v1/api-keys", 201, json={"name": "spare"})
        workflow_id, version_id = await published(f"{TARGET}/users")
        failing_id, _ = await published(f"{TARGET}/refused")
        archivable_id, _ = await published(f"{TARGET}/users")
        # A draft beside the live version: `draft`, `live` and the id all name something.
        await ok(
            "PUT",
            f"/v1/workflows/{workflow_id}/draft",
            200,
            json={"document": document(f"{TARGET}/users")},
        )
        completed = await run_of(workflow_id, execute=True)
        failed = await run_of(failing_id, execute=True)
        pending = await run_of(workflow_id, execute=False)
        await ok("POST", f"/v1/workflows/{archivable_id}/trigger", 202, json={"payload": {}})
    return Seeded(
        key=key.key,
        ids={
            "workflow_id": workflow_id,
            "version_id": version_id,
            "step_id": "create_user",
            "run_id": completed,
            "name": "signing",
            "key_id": spare["api_key"]["id"],
        },
        destroyable={
            "workflow_id": archivable_id,
            "run_id": pending,
            "name": "doomed",
            "key_id": spare["api_key"]["id"],
            "failed_run_id": failed,
        },
        event="inquiry.completed",
    )


def _existing(seeded: Seeded, method: str, path: str) -> dict[str, str]:
    """Ids that exist, chosen for what the operation does to them."""
    if path.endswith("/resume"):
        return {"run_id": seeded.destroyable["failed_run_id"]}
    if method == "DELETE" or path.endswith(("/archive", "/unarchive", "/cancel")):
        return seeded.destroyable
    return seeded.ids


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, Seeded]]:
    """The app over a seeded SQLite store (opened and closed outside any test's loop)."""
    path = tmp_path_factory.mktemp("fuzz") / "callout.db"
    transport = MockTransport(answer)
    store = asyncio.run(open_store(database_url(str(path))))
    try:
        app = create_app(ApiContext(store=store, cipher=TEST_KEY, transport=transport))
        seeded = asyncio.run(_seed(app, store, transport))
        yield app, seeded
    finally:
        asyncio.run(store.close())


@pytest.fixture(scope="module")
def api_schema(fuzz_target: tuple[FastAPI, Seeded]) -> schemathesis.BaseSchema:
    """The app's own OpenAPI description, path ids sometimes swapped for seeded ones."""
    app, seeded = fuzz_target
    loaded = schemathesis.openapi.from_asgi("/openapi.json", app)

    @loaded.hook
    def flatmap_path_parameters(
        context: schemathesis.HookContext, path_parameters: dict[str, Any]
    ) -> st.SearchStrategy[dict[str, Any]]:
        operation = context.operation
        assert operation is not None
        known = _existing(seeded, operation.method.upper(), operation.path)
        swapped = {name: known.get(name, value) for name, value in path_parameters.items()}
        return st.sampled_from([path_parameters, swapped])

    @loaded.hook
    def flatmap_body(context: schemathesis.HookContext, body: Any) -> st.SearchStrategy[Any]:
        operation = context.operation
        if operation is None or operation.path != "/v1/events" or not isinstance(body, dict):
            return st.just(body)
        return st.sampled_from([body, {**body, "name": seeded.event}])

    return loaded


@pytest.fixture(scope="module")
def api_key(fuzz_target: tuple[FastAPI, Seeded]) -> str:
    return fuzz_target[1].key


schema = schemathesis.pytest.from_fixture("api_schema")
parametrize = cast("Callable[[Callable[..., None]], Callable[..., None]]", schema.parametrize())


@parametrize
@settings(
    max_examples=15,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_without_5xx_and_as_described(
    case: schemathesis.Case, api_key: str
) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {api_key}"}, checks=CHECKS)


def test_the_fuzz_target_is_seeded(fuzz_target: tuple[FastAPI, Seeded], tmp_path: Path) -> None:
    _, seeded = fuzz_target
    assert seeded.ids["run_id"] != seeded.destroyable["run_id"]
