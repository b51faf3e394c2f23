"""The store on real SQLite files and real PostgreSQL databases."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa

from callout.model.records import Decision
from callout.store import (
    Claim,
    FinishedAttempt,
    LeaseLostError,
    NewRun,
    RunStateError,
    SqlStore,
    UnknownRunError,
    database_url,
    open_engine,
    open_store,
)
from callout.store.schema import SchemaTooNewError, current_revision, head_revision, upgrade

T0 = 1_800_000_000.0


def new_run(run_id: str = "wfr_1", steps: tuple[str, ...] = ("a", "b")) -> NewRun:
    return NewRun(
        id=run_id,
        workflow_name="test",
        document={"name": "test"},
        trigger={"email": "ada@example.com"},
        step_ids=steps,
        step_run_ids=tuple(f"stp_{run_id}_{s}" for s in steps),
    )


async def claim_one(store: SqlStore, now: float, lease: float = 30) -> Claim:
    claims = await store.claim_due(now=now, lease_seconds=lease, limit=10)
    assert len(claims) == 1, claims
    return claims[0]


async def attempt(
    store: SqlStore,
    claim: Claim,
    now: float,
    decision: Decision,
    *,
    attempt_id: str,
    next_at: float | None = None,
    output: dict[str, object] | None = None,
) -> None:
    await store.start_attempt(
        claim, attempt_id=attempt_id, number=claim.next_number, now=now, lease_until=now + 40
    )
    await store.finish_attempt(
        claim,
        FinishedAttempt(
            attempt_id=attempt_id,
            ended_at=now + 1,
            succeeded=decision is Decision.SUCCEEDED,
            decision=decision,
            output=output,
            error=None
            if decision is Decision.SUCCEEDED
            else {"type": "http_status", "message": "x"},
            next_attempt_at=next_at,
        ),
    )


async def test_a_recorded_run_has_its_first_step_due_at_once(store: SqlStore) -> None:
    await store.create_run(new_run(), now=T0)
    assert await store.claim_due(now=T0 - 1, lease_seconds=30, limit=10) == []
    claim = await claim_one(store, T0)
    assert (claim.step_id, claim.position, claim.next_number) == ("a", 0, 1)
    run = await store.get_run("wfr_1")
    assert run.status == "running"
    assert run.trigger == {"email": "ada@example.com"}


async def test_a_run_completes_step_after_step(store: SqlStore) -> None:
    await store.create_run(new_run(), now=T0)
    first = await claim_one(store, T0)
    await attempt(store, first, T0, Decision.SUCCEEDED, attempt_id="att_1", output={"status": 201})
    second = await claim_one(store, T0 + 2)
    assert second.step_id == "b"
    assert await store.outputs("wfr_1") == {"a": {"status": 201}}
    await attempt(store, second, T0 + 2, Decision.SUCCEEDED, attempt_id="att_2", output={})
    run = await store.get_run("wfr_1")
    assert run.status == "completed"
    assert [s.status for s in run.steps] == ["succeeded", "succeeded"]
    assert await store.next_due_at() is None


async def test_a_retry_due_at_t_is_claimed_at_t_and_not_before(store: SqlStore) -> None:
    await store.create_run(new_run(steps=("a",)), now=T0)
    claim = await claim_one(store, T0)
    await attempt(store, claim, T0, Decision.RETRY, attempt_id="att_1", next_at=T0 + 600)
    assert await store.next_due_at() == T0 + 600
    assert await store.claim_due(now=T0 + 599.9, lease_seconds=30, limit=10) == []
    retry = await claim_one(store, T0 + 600)
    assert (retry.next_number, retry.attempts_made) == (2, 1)
    run = await store.get_run("wfr_1")
    assert run.steps[0].attempts[0].next_attempt_at == T0 + 600


async def test_a_claim_goes_to_one_worker_only(store: SqlStore) -> None:
    for index in range(20):
        await store.create_run(new_run(f"wfr_{index}", ("a",)), now=T0)
    batches = await asyncio.gather(
        *(store.claim_due(now=T0, lease_seconds=30, limit=3) for _ in range(10))
    )
    claimed = [claim.step_run_id for batch in batches for claim in batch]
    assert len(claimed) == 20
    assert len(set(claimed)) == 20


async def test_a_stalled_worker_whose_lease_expired_cannot_record_its_result(
    store: SqlStore,
) -> None:
    await store.create_run(new_run(steps=("a",)), now=T0)
    stalled = await claim_one(store, T0, lease=30)
    await store.start_attempt(stalled, attempt_id="att_1", number=1, now=T0, lease_until=T0 + 30)
    taker = await claim_one(store, T0 + 31)
    assert taker.lease_token != stalled.lease_token
    assert (taker.interruptions, taker.next_number) == (1, 2)
    late = FinishedAttempt(
        attempt_id="att_1", ended_at=T0 + 32, succeeded=True, decision=Decision.SUCCEEDED, output={}
    )
    with pytest.raises(LeaseLostError):
        await store.finish_attempt(stalled, late)
    with pytest.raises(LeaseLostError):
        await store.start_attempt(
            stalled, attempt_id="att_x", number=9, now=T0 + 32, lease_until=T0 + 60
        )
    await attempt(store, taker, T0 + 33, Decision.SUCCEEDED, attempt_id="att_2", output={})
    run = await store.get_run("wfr_1")
    assert [a.status for a in run.steps[0].attempts] == ["interrupted", "succeeded"]
    assert run.status == "completed"


async def test_a_failed_step_skips_the_rest_and_resume_makes_a_new_step_run(
    store: SqlStore,
) -> None:
    await store.create_run(new_run(steps=("a", "b", "c")), now=T0)
    first = await claim_one(store, T0)
    await attempt(store, first, T0, Decision.SUCCEEDED, attempt_id="att_1", output={"status": 200})
    second = await claim_one(store, T0 + 2)
    await attempt(store, second, T0 + 2, Decision.ERRORED_FAIL, attempt_id="att_2")
    run = await store.get_run("wfr_1")
    assert run.status == "failed"
    assert [s.status for s in run.steps] == ["succeeded", "errored", "skipped"]

    await store.resume("wfr_1", step_run_id="stp_resumed", now=T0 + 10)
    resumed = await claim_one(store, T0 + 10)
    assert (resumed.step_run_id, resumed.step_id, resumed.next_number) == ("stp_resumed", "b", 1)
    await attempt(store, resumed, T0 + 10, Decision.SUCCEEDED, attempt_id="att_3", output={})
    last = await claim_one(store, T0 + 12)
    assert last.step_id == "c"
    await attempt(store, last, T0 + 12, Decision.SUCCEEDED, attempt_id="att_4", output={})
    run = await store.get_run("wfr_1")
    assert run.status == "completed"
    old, new = [s for s in run.steps if s.step_id == "b"]
    assert (old.status, new.status, new.resumed_from) == ("errored", "succeeded", old.id)


async def test_only_a_failed_run_can_be_resumed(store: SqlStore) -> None:
    await store.create_run(new_run(), now=T0)
    with pytest.raises(RunStateError, match="only a failed run"):
        await store.resume("wfr_1", step_run_id="stp_x", now=T0)
    with pytest.raises(UnknownRunError, match="no run"):
        await store.resume("wfr_nope", step_run_id="stp_x", now=T0)


async def test_runs_are_listed_newest_first_and_filtered_by_status(store: SqlStore) -> None:
    await store.create_run(new_run("wfr_old", ("a",)), now=T0)
    await store.create_run(new_run("wfr_new", ("a",)), now=T0 + 5)
    assert [r.id for r in await store.list_runs()] == ["wfr_new", "wfr_old"]
    assert [r.id for r in await store.list_runs(status="completed")] == []


async def test_released_claim_is_due_again_at_once(store: SqlStore) -> None:
    await store.create_run(new_run(steps=("a",)), now=T0)
    claim = await claim_one(store, T0)
    await store.release(claim, now=T0 + 1)
    again = await claim_one(store, T0 + 1)
    assert again.next_number == 1


async def test_upgrading_an_empty_database_reaches_the_newest_schema(db_url: str) -> None:
    engine = open_engine(database_url(db_url))
    try:
        assert await current_revision(engine) is None
        assert await upgrade(engine) == head_revision()
        assert await upgrade(engine) == head_revision()  # idempotent
    finally:
        engine.dispose()


async def test_upgrading_a_database_of_the_previous_migration_keeps_its_runs(db_url: str) -> None:
    engine = open_engine(database_url(db_url))
    store = SqlStore(engine)
    try:
        await upgrade(engine, "0001")
        with engine.begin() as conn:  # a run as revision 0001 wrote it (no service columns)
            conn.execute(
                sa.text(
                    "INSERT INTO runs (id, workflow_name, document, trigger, status, "
                    "created_at, updated_at) VALUES ('wfr_1', 'wf', '{}', 'null', 'pending', "
                    ":t, :t)"
                ),
                {"t": T0},
            )
            for position, step in enumerate(("a", "b")):
                conn.execute(
                    sa.text(
                        "INSERT INTO step_runs (id, run_id, position, step_id, status, "
                        "due_at, created_at, updated_at) VALUES (:id, 'wfr_1', :p, :s, "
                        "'pending', NULL, :t, :t)"
                    ),
                    {"id": f"stp_{step}", "p": position, "s": step, "t": T0},
                )
        assert await upgrade(engine) == head_revision()
        run = await store.get_run("wfr_1")
        assert [s.step_id for s in run.steps] == ["a", "b"]
        assert run.org_id is None  # a run from before the service belongs to no organization
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
        assert {"workers", "organizations", "workflows", "secrets"} <= tables
    finally:
        await store.close()


async def test_a_database_from_a_newer_callout_is_refused(db_url: str) -> None:
    engine = open_engine(database_url(db_url))
    try:
        await upgrade(engine)
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
        with pytest.raises(SchemaTooNewError, match="upgraded by a newer callout"):
            await upgrade(engine)
        with engine.connect() as conn:  # nothing was changed
            version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        assert version == "9999"
    finally:
        engine.dispose()


async def test_only_run_creation_is_synced_to_disk_on_sqlite(tmp_path: Path) -> None:
    store = await open_store(database_url(str(tmp_path / "callout.db")))
    statements: list[str] = []
    try:
        with store.engine.connect() as conn:  # the one writer connection, shared by the writer
            raw = conn.connection.dbapi_connection
            assert raw is not None
            raw.set_trace_callback(statements.append)
        await store.create_run(new_run(steps=("a",)), now=T0)
        created = list(statements)
        statements.clear()
        await store.claim_due(now=T0, lease_seconds=30, limit=1)
    finally:
        await store.close()
    assert created[0] == "PRAGMA synchronous=FULL"
    assert created.index("COMMIT") < created.index("PRAGMA synchronous=NORMAL")
    assert not any("synchronous" in statement for statement in statements)
