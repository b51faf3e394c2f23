"""The API fuzzed from its own OpenAPI description: no 5xx, no answer the description denies.

schemathesis generates requests for every operation, valid and invalid ones, and
sends them to the real app in-process (ASGI) over a real SQLite store, with a
real organization's API key. Generated path ids are sometimes those of seeded
data (published workflows, a draft, completed, failed and pending runs,
secrets, a spare API key), so the handlers behind existing resources run, not
only their 404s. Steps send to a mock transport: nothing reaches the network.

No answer may be a 5xx; each must have a status the operation declares, the
declared content type, and a body that matches the declared schema.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
import sqlalchemy as sa
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
from callout.store.database import database_url
from callout.store.organizations import create_organization
from callout.store.secrets import StoredOrgSecrets
from callout.store.sql_store import SqlStore, open_store
from support.api_clients import TEST_KEY, document

TARGET = "https://api.example.test"
EVENT = "inquiry.completed"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "workflow_id": ("wfl_SEEDED",),
    "version_id": ("wflv_SEEDED", "draft", "live"),
    "run_id": ("wfr_SEEDED",),
    "key_id": ("key_SEEDED",),
    "name": ("seeded",),
    "step_id": ("create_user", "tag_user"),
    "step_run_id": ("stp_SEEDED",),
}
"""Path values the generator may pick besides its own, each matching its parameter's
pattern. A case carrying one of `SEEDED` is sent with the id of seeded data instead."""
SEEDED = frozenset(
    {"wfl_SEEDED", "wflv_SEEDED", "wfr_SEEDED", "key_SEEDED", "seeded", "stp_SEEDED"}
)


def two_steps(url: str) -> dict[str, Any]:
    """A draft whose second step reads the first one's output (for step tests)."""
    draft = document(url)
    tag = {
        "id": "tag_user",
        "action": "make_https_request",
        "url": f"{TARGET}/users/{{{{ steps.create_user.body.id }}}}/tags",
        "body": {"tag": "{{ trigger.id }}", "status": "{{ steps.create_user.status }}"},
    }
    draft["steps"].append(tag)
    return draft


def answer(request: OutboundRequest) -> InboundResponse:
    """The far side of every step: /users creates a user, /users/... takes; others refuse."""
    json_type = (("Content-Type", "application/json"),)
    if request.url.endswith("/users"):
        return InboundResponse(201, json_type, b'{"id": "usr_1"}')
    if "/users/" in request.url:
        return InboundResponse(200, json_type, b"{}")
    return InboundResponse(422, json_type, b'{"error": "refused"}')


@dataclass(frozen=True, slots=True)
class Seeded:
    """The data in place before fuzzing, and the API key of its organization."""

    key: str
    live_workflow: str
    live_version: str
    scratch_workflow: str
    unpublished_workflow: str
    completed_run: str
    failed_run: str
    pending_run: str
    spare_key: str
    completed_step_run: str

    def ids_for(self, method: str, path: str) -> dict[str, str]:
        """Existing ids for an operation: one it may change or destroy gets its own."""
        ids = {
            "workflow_id": self.live_workflow,
            "version_id": self.live_version,
            "run_id": self.completed_run,
            "key_id": self.spare_key,
            "name": "signing",
            "step_id": "create_user",
            "step_run_id": self.completed_step_run,
        }
        if path.endswith("/publish"):
            ids["workflow_id"] = self.unpublished_workflow
        elif path.endswith(("/draft", "/archive", "/unarchive")):
            ids["workflow_id"] = self.scratch_workflow
        elif path.endswith("/resume"):
            ids["run_id"] = self.failed_run
        elif path.endswith("/cancel"):
            ids["run_id"] = self.pending_run
        elif method == "DELETE":
            ids["name"] = "doomed"
        return ids


async def _seed(app: FastAPI, store: SqlStore, transport: MockTransport) -> Seeded:
    _, key = await store.write(
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

        async def workflow(url: str, *, publish: bool = True) -> tuple[str, str]:
            signed = document(url, secret="{{ secrets.signing }}")
            created = await ok("POST", "/v1/workflows", 201, json={"document": signed})
            workflow_id: str = created["workflow"]["id"]
            if not publish:
                return workflow_id, created["draft"]["id"]
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
        live, live_version = await workflow(f"{TARGET}/users")
        failing, _ = await workflow(f"{TARGET}/refused")
        scratch, _ = await workflow(f"{TARGET}/users")
        unpublished, _ = await workflow(f"{TARGET}/users", publish=False)
        # A draft beside the live version: `draft`, `live` and the version id all exist.
        await ok(
            "PUT",
            f"/v1/workflows/{live}/draft",
            200,
            json={"document": two_steps(f"{TARGET}/users")},
        )
        completed = await run_of(live, execute=True)
        failed = await run_of(failing, execute=True)
        pending = await run_of(live, execute=False)
        # A refused call: the trigger-call history holds an error answer too.
        await ok("POST", f"/v1/workflows/{live}/trigger", 422, json={"payload": {}})
        completed_view = await ok("GET", f"/v1/runs/{completed}", 200)
    return Seeded(
        key=key.key,
        live_workflow=live,
        live_version=live_version,
        scratch_workflow=scratch,
        unpublished_workflow=unpublished,
        completed_run=completed,
        failed_run=failed,
        pending_run=pending,
        spare_key=spare["api_key"]["id"],
        completed_step_run=completed_view["steps"][0]["step_run_id"],
    )


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


def _app_to_describe() -> FastAPI:
    """An app to read the description from: the routes alone make it; its store is never opened.

    schemathesis's fixture loader (`schemathesis.pytest.from_fixture`) fails under pytest
    9.2 (it reads `Function._nodeid`, which pytest no longer has), so the description is
    read when the module loads and each case is sent to the seeded app of `fuzz_target`.
    """
    unopened = SqlStore(sa.create_engine("sqlite://"))
    return create_app(ApiContext(store=unopened, cipher=TEST_KEY, transport=MockTransport(answer)))


schema = schemathesis.openapi.from_asgi("/openapi.json", _app_to_describe())


@schema.hook
def flatmap_path_parameters(
    context: schemathesis.HookContext, path_parameters: dict[str, Any] | None
) -> st.SearchStrategy[dict[str, Any] | None]:
    """Each path value as generated, or one naming seeded data."""
    if not path_parameters:
        return st.just(path_parameters)
    return st.fixed_dictionaries(
        {
            name: st.sampled_from([value, *PLACEHOLDERS.get(name, ())])
            for name, value in path_parameters.items()
        }
    )


@schema.hook
def flatmap_body(context: schemathesis.HookContext, body: Any) -> st.SearchStrategy[Any]:
    """Generated bodies, or ones that start the seeded workflow."""
    path = context.operation.path if context.operation else ""
    if not isinstance(body, dict):
        return st.just(body)
    if path == "/v1/events":
        return st.sampled_from([body, {**body, "name": EVENT, "payload": {"id": "inq_2"}}])
    if path.endswith("/trigger"):
        return st.sampled_from([body, {**body, "payload": {"id": "inq_2"}}])
    return st.just(body)


def _with_seeded_ids(case: schemathesis.Case[Any], seeded: Seeded) -> None:
    existing = seeded.ids_for(case.method.upper(), case.path)
    parameters = case.path_parameters or {}
    for name, value in parameters.items():
        if isinstance(value, str) and value in SEEDED:
            parameters[name] = existing[name]


def _parametrize(test: Callable[..., None]) -> Callable[..., None]:
    decorated: Callable[..., None] = schema.parametrize()(test)
    return decorated


@_parametrize
@settings(
    max_examples=50,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_without_5xx_and_as_described(
    case: schemathesis.Case[Any], fuzz_target: tuple[FastAPI, Seeded]
) -> None:
    app, seeded = fuzz_target
    _with_seeded_ids(case, seeded)
    case.call_and_validate(
        app=app, headers={"Authorization": f"Bearer {seeded.key}"}, checks=CHECKS
    )


def test_the_fuzzed_description_is_the_one_the_seeded_app_serves(
    fuzz_target: tuple[FastAPI, Seeded],
) -> None:
    app, _ = fuzz_target
    assert app.openapi() == schema.raw_schema


@pytest.mark.parametrize("parameter", ["created_after", "created_before"])
@pytest.mark.parametrize(
    "value",
    ["0001-01-01T00:00:00", "0001-01-01", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59"],
)
def test_run_time_filters_at_the_ends_of_the_calendar_answer_as_described(
    fuzz_target: tuple[FastAPI, Seeded], parameter: str, value: str
) -> None:
    # Generated date-times always carry an offset; a client's need not.
    app, seeded = fuzz_target
    case = schema["/v1/runs"]["GET"].Case(query={parameter: value})
    case.call_and_validate(
        app=app, headers={"Authorization": f"Bearer {seeded.key}"}, checks=CHECKS
    )
