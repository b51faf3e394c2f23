"""Run events end to end: a run fails, and each endpoint hears of it, signed, over real HTTPS.

A real worker (`run_worker`, as `callout worker` and `callout serve` run it)
over a SQLite file, a real HTTPS server on loopback, endpoints made the way the
API makes them (`engine/notification_endpoints.py`: a generated signing secret
stored as an organization secret). The database's clock is a manual one, so a
notification's 10 s and 60 s retries are due when the test says.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

import pytest
import sqlalchemy as sa

from callout.cli.worker import run_worker
from callout.engine.notification_endpoints import create_endpoint
from callout.engine.notification_runs import EVENT_HEADER
from callout.engine.starting import new_run
from callout.http import AiohttpTransport
from callout.model.clock import ManualClock
from callout.model.plans import Plan
from callout.signing import SignatureError, verify
from callout.steps.validation import validate_workflow
from callout.store.account_records import StoredOrgSecrets
from callout.store.database import database_url
from callout.store.encryption import SecretCipher
from callout.store.protocol import RunFilter, StoredRun
from callout.store.run_events import (
    SYSTEM_WORKFLOW_NAME,
    EndpointChanges,
    EndpointFormat,
    EventType,
)
from callout.store.sql_store import SqlStore, open_store
from callout.store.tables import run_events
from support.https_servers import HttpsServer, reply
from support.polling import eventually

CIPHER = SecretCipher(secrets.token_bytes(32))


@pytest.fixture
def clock() -> ManualClock:
    """The database's clock: it moves only when the test says (a retry's wait)."""
    return ManualClock(time.time())


@pytest.fixture
async def store(tmp_path: Path, clock: ManualClock) -> AsyncIterator[SqlStore]:
    opened = await open_store(database_url(str(tmp_path / "callout.db")), clock=clock)
    yield opened
    await opened.close()


@asynccontextmanager
async def worker_running(store: SqlStore, transport: AiohttpTransport) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_worker(
            store,
            database_url(str(store.engine.url.database)),
            stop,
            transport=transport,
            concurrency=8,
            grace=5,
            lease_margin=30,
            allow_http=False,
            org_secrets=StoredOrgSecrets(store, CIPHER),
            prune_every=0,
        )
    )
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)


async def failing_run(store: SqlStore, org_id: str, url: str, clock: ManualClock) -> str:
    """Publish "Charge the order" (one step to `url`, no retries) and start a run of it."""
    document = {
        "name": "Charge the order",
        "steps": [
            {
                "id": "charge",
                "action": "make_https_request",
                "url": url,
                "body": {"order": "{{ trigger.order }}"},
            }
        ],
    }
    workflows, now = store.workflows, clock.now()
    created = await workflows.create_workflow(
        org_id=org_id, name="Charge the order", document=document, by=None, now=now
    )
    assert created.draft_version_id is not None
    version = await workflows.publish(
        org_id=org_id,
        workflow_id=created.id,
        draft_id=created.draft_version_id,
        checked=document,
        event=None,
        by=None,
        now=now,
    )
    run = new_run(
        validate_workflow(document),
        {"order": "ord_1"},
        now=now,
        org_id=org_id,
        workflow_id=created.id,
        version_id=version.id,
    )
    await store.create_run(run)
    return run.id


async def notifications(store: SqlStore, org_id: str) -> dict[str, StoredRun]:
    """The system workflow's runs, whole, by the path of the endpoint each tells."""
    system = await store.run_events.system_workflow_id(org_id=org_id)
    listed = await store.list_runs(limit=100, where=RunFilter(org_id=org_id, workflow_id=system))
    found = [await store.get_run(run.id) for run in listed]
    return {run.document["steps"][0]["url"].split("/hooks")[1]: run for run in found}


async def step_status(store: SqlStore, run_id: str) -> str:
    return (await store.get_run(run_id)).steps[0].status


def outbox_size(conn: sa.Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(run_events)).scalar_one())


async def test_a_failed_run_is_told_signed_to_each_endpoint_retried_and_never_about_itself(
    store: SqlStore,
    clock: ManualClock,
    https_server: HttpsServer,
    transport: AiohttpTransport,
) -> None:
    org, _ = await store.accounts.create_organization(name="Acme", plan=Plan.GROWTH, now=0.0)
    https_server.script("/charge", reply(503, '{"error": "card declined"}'))
    https_server.script("/hooks/flaky", reply(500), reply(500), reply(200))
    https_server.script("/hooks/broken", reply(400, '{"error": "no"}'))
    made = {}
    for name, form in [
        ("callout", EndpointFormat.CALLOUT),
        ("slack", EndpointFormat.SLACK),
        ("flaky", EndpointFormat.CALLOUT),
        ("broken", EndpointFormat.CALLOUT),
    ]:
        made[name] = await create_endpoint(
            store,
            CIPHER,
            org_id=org.id,
            wanted=EndpointChanges(
                name=name,
                url=https_server.url(f"/hooks/{name}"),
                events=(EventType.RUN_FAILED,),
                body_format=form,
            ),
            now=clock.now(),
        )

    async with worker_running(store, transport):
        run_id = await failing_run(store, org.id, https_server.url("/charge"), clock)
        for name in made:
            await eventually(partial(told_on, https_server, name, 1), f"{name} told")

        # The callout format: the event as JSON, signed with the endpoint's own secret.
        [told] = https_server.hits_on("/hooks/callout")
        event = json.loads(told.body)
        assert (event["type"], event["organization_id"]) == ("run.failed", org.id)
        assert event["id"].startswith("evt_")
        workflow_id = (await store.get_run(run_id)).workflow_id
        assert event["run"] == {
            "id": run_id,
            "workflow_id": workflow_id,
            "workflow_name": "Charge the order",
        }
        assert told.headers[EVENT_HEADER] == "run.failed"
        secret = made["callout"].signing_secret
        assert verify(told.headers["Persona-Signature"], told.body, secret) > 0
        with pytest.raises(SignatureError, match="no signature matches"):
            verify(told.headers["Persona-Signature"], told.body, "another secret")

        # The Slack format: one readable line, signed the same way.
        [chat] = https_server.hits_on("/hooks/slack")
        assert json.loads(chat.body) == {
            "text": f'Run {run_id} of workflow "Charge the order" failed at step charge: '
            "http_status 503"
        }
        slack_secret = made["slack"].signing_secret
        assert verify(chat.headers["Persona-Signature"], chat.body, slack_secret) > 0

        # The endpoint answering 500 is retried on the schedule (10 s, then 60 s).
        flaky = (await notifications(store, org.id))["/flaky"]
        for wait, hits in [(10, 2), (60, 3)]:
            await eventually(lambda: _waiting(store, flaky.id), "the notification waiting")
            clock.advance(wait + 1)
            await eventually(partial(told_on, https_server, "flaky", hits), "the retry")
        await eventually(lambda: _finished(store, flaky.id), "the flaky notification done")

        # The notification that failed for good was dropped at dispatch: no run tells of it.
        broken = (await notifications(store, org.id))["/broken"]
        await eventually(lambda: _finished(store, broken.id), "the broken notification done")
        await eventually(
            lambda: _outbox_empty(store), "every recorded event dispatched", seconds=10
        )
        runs = await notifications(store, org.id)

    assert sorted(runs) == ["/broken", "/callout", "/flaky", "/slack"]
    assert {run.workflow_name for run in runs.values()} == {SYSTEM_WORKFLOW_NAME}
    assert {run.workflow_id for run in runs.values()} == {made["callout"].workflow_id}
    assert [(a.status, a.http_status) for a in runs["/flaky"].steps[0].attempts] == [
        ("failed", 500),
        ("failed", 500),
        ("succeeded", 200),
    ]
    assert runs["/flaky"].status == "completed"
    assert runs["/broken"].status == "failed"
    assert len(https_server.hits_on("/hooks/broken")) == 1
    signed_by = {json.loads(hit.body)["id"] for hit in https_server.hits_on("/hooks/flaky")}
    assert signed_by == {event["id"]}  # every retry tells of the same event


def told_on(server: HttpsServer, name: str, times: int) -> bool:
    return len(server.hits_on(f"/hooks/{name}")) == times


async def _waiting(store: SqlStore, run_id: str) -> bool:
    return await step_status(store, run_id) == "waiting"


async def _finished(store: SqlStore, run_id: str) -> bool:
    return (await store.get_run(run_id)).status in ("completed", "failed")


async def _outbox_empty(store: SqlStore) -> bool:
    return await store.read(outbox_size) == 0
