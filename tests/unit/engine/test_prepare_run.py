"""`prepare_run`: whether a workflow starts a run now, every refusal and the run it starts."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from callout.engine.triggering import Refusal, prepare_run
from callout.engine.workflow_cache import WorkflowCache
from callout.model.plans import Plan
from callout.steps.schema import MAX_SCHEMA_PROBLEMS
from callout.store.protocol import NewRun
from callout.store.workflow_records import (
    VersionInfo,
    VersionState,
    WorkflowInfo,
    WorkflowStatus,
)
from support.running import workflow_of

NOW = 1_800_000_000.0
STEP = {"id": "create", "action": "make_https_request", "url": "https://crm.test/users"}


def document(*, url: str = "https://crm.test/users", schema: Any = None) -> dict[str, Any]:
    doc = workflow_of({**STEP, "url": url}, {**STEP, "id": "tag"}, name="Create the user")
    if schema is not None:
        doc["trigger"] = {"schema": schema}
    return doc


WORKFLOW = WorkflowInfo(
    id="wfl_1",
    org_id="org_1",
    name="Create the user",
    status=WorkflowStatus.PUBLISHED,
    event=None,
    live_version_id="wflv_2",
    live_version_number=2,
    draft_version_id=None,
    draft_version_number=None,
    created_at=NOW,
    updated_at=NOW,
    archived_at=None,
)


def live_version(doc: Any) -> VersionInfo:
    return VersionInfo(
        id="wflv_2",
        workflow_id="wfl_1",
        number=2,
        state=VersionState.PUBLISHED,
        live=True,
        created_at=NOW,
        created_by="key_1",
        updated_at=NOW,
        updated_by="key_1",
        published_at=NOW,
        published_by="key_1",
        document=doc,
    )


def prepared(
    payload: Any = None,
    *,
    workflow: WorkflowInfo = WORKFLOW,
    version: VersionInfo | None = None,
    plan: Plan = Plan.GROWTH,
    allow_http: bool = False,
) -> NewRun | Refusal:
    return prepare_run(
        workflow,
        version if version is not None else live_version(document()),
        payload if payload is not None else {},
        plan=plan,
        workflows=WorkflowCache(),
        allow_http=allow_http,
        now=NOW,
    )


def refusal(found: NewRun | Refusal) -> Refusal:
    assert isinstance(found, Refusal), found
    return found


def test_a_published_workflow_starts_a_run_pinned_to_its_live_version() -> None:
    run = prepared({"email": "ada@example.com"})
    assert isinstance(run, NewRun)
    assert (run.org_id, run.workflow_id, run.version_id) == ("org_1", "wfl_1", "wflv_2")
    assert run.workflow_name == "Create the user"
    assert run.document == document()
    assert run.trigger == {"email": "ada@example.com"}
    assert run.step_ids == ("create", "tag")
    assert run.id.startswith("wfr_")
    assert len(run.step_run_ids) == 2
    assert all(step_run_id.startswith("stp_") for step_run_id in run.step_run_ids)
    assert len(set(run.step_run_ids)) == 2  # one idempotency key per step run


def test_an_archived_workflow_starts_nothing_even_with_a_live_version() -> None:
    archived = replace(WORKFLOW, status=WorkflowStatus.ARCHIVED, archived_at=NOW)
    found = refusal(prepared(workflow=archived))
    assert found.code == "workflow_archived"
    assert "wfl_1" in found.message
    assert found.problems == ()


def test_a_workflow_never_published_starts_nothing() -> None:
    draft_only = replace(WORKFLOW, status=WorkflowStatus.DRAFT, live_version_id=None)
    found = prepare_run(
        draft_only,
        None,
        {},
        plan=Plan.GROWTH,
        workflows=WorkflowCache(),
        allow_http=False,
        now=NOW,
    )
    assert refusal(found).code == "not_published"


def test_a_plan_without_the_action_refuses_with_the_steps_that_use_it() -> None:
    found = refusal(prepared(plan=Plan.STARTUP))
    assert found.code == "plan_lacks_action"
    assert "Growth and Enterprise" in found.message
    assert [problem.path for problem in found.problems] == ["steps[0].action", "steps[1].action"]


def test_a_live_version_this_server_refuses_asks_for_a_new_publish() -> None:
    # Published where plain http was allowed; this process does not allow it.
    plain = live_version(document(url="http://crm.test/users"))
    found = refusal(prepared(version=plain, allow_http=False))
    assert found.code == "live_version_invalid"
    assert "publish a new one" in found.message
    assert any("https://" in problem.message for problem in found.problems)
    assert isinstance(prepared(version=plain, allow_http=True), NewRun)


def test_a_payload_that_fails_the_trigger_schema_is_refused_with_its_problems() -> None:
    schema = {"type": "object", "required": ["email"], "properties": {"email": {"type": "string"}}}
    version = live_version(document(schema=schema))
    found = refusal(prepared({"email": 7}, version=version))
    assert found.code == "invalid_payload"
    assert "(1 problem(s))" in found.message
    assert len(found.problems) == 1
    assert isinstance(prepared({"email": "ada@example.com"}, version=version), NewRun)


def test_a_payload_with_too_many_problems_says_only_the_first_are_listed() -> None:
    names = [f"field_{index:02}" for index in range(MAX_SCHEMA_PROBLEMS + 5)]
    schema = {"type": "object", "required": names}
    found = refusal(prepared({}, version=live_version(document(schema=schema))))
    assert found.code == "invalid_payload"
    assert f"the first {MAX_SCHEMA_PROBLEMS} problems listed" in found.message
    assert len(found.problems) == MAX_SCHEMA_PROBLEMS


def test_refusals_are_checked_in_order_archived_first() -> None:
    archived = replace(WORKFLOW, status=WorkflowStatus.ARCHIVED)
    plain = live_version(document(url="http://crm.test/users"))
    assert refusal(prepared(workflow=archived, version=plain, plan=Plan.STARTUP)).code == (
        "workflow_archived"
    )
    assert refusal(prepared(version=plain, plan=Plan.STARTUP)).code == "plan_lacks_action"
