"""The store on real SQLite files and real PostgreSQL databases, and in memory.

The run-queue tests are the store's contract: each runs on SQLite, PostgreSQL and
the in-memory store (`contract_store`), whose clock, the database's, is `db_clock`.
Callers pass durations only; every time a record carries is the store's.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from callout.model.clock import ManualClock
from callout.model.records import Decision
from callout.store import (
    Claim,
    FinishedAttempt,
    LeaseLostError,
    NewRun,
    RunStateError,
    Store,
    UnknownRunError,
)
from callout.store.database import database_url, open_engine
from callout.store.schema import SchemaTooNewError, current_revision, head_revision, upgrade
from callout.store.sql_store import SqlStore, open_store

T0 = 1_800_000_000.0  # where `db_clock` starts


def at(clock: ManualClock, moment: float) -> None:
    """Set the database's time (the store's clock) to `moment`."""
    clock.advance(moment - clock.now())


def new_run(
    run_id: str = "wfr_1", steps: tuple[str, ...] = ("a", "b"), timeouts: tuple[float, ...] = ()
) -> NewRun:
    return NewRun(
        id=run_id,
        workflow_name="test",
        document={"name": "test"},
        trigger={"email": "ada@example.com"},
        step_ids=steps,
        step_run_ids=tuple(f"stp_{run_id}_{s}" for s in steps),
        step_timeouts=timeouts,
    )


async def claim_one(store: Store, lease: float = 30) -> Claim:
    claims = await store.claim_due(lease_seconds=lease, limit=10)
    assert len(claims) == 1, claims
    return claims[0]


async def attempt(
    store: Store,
    clock: ManualClock,
    claim: Claim,
    now: float,
    decision: Decision,
    *,
    retry_delay: float | None = None,
    output: dict[str, object] | None = None,
) -> None:
    """Finish the attempt `claim` recorded one second after `now` (by the store's clock)."""
    at(clock, now + 1)
    await store.finish_attempt(
        claim,
        FinishedAttempt(
            attempt_id=claim.attempt_id,
            succeeded=decision is Decision.SUCCEEDED,
            decision=decision,
            output=output,
            error=None
            if decision is Decision.SUCCEEDED
            else {"type": "http_status", "message": "x"},
            retry_delay=retry_delay,
        ),
    )


async def test_a_recorded_run_has_its_first_step_due_at_once(
    contract_store: Store, db_clock: ManualClock
) -> None:
    store = contract_store
    await store.create_run(new_run())
    at(db_clock, T0 - 1)
    assert await store.claim_due(lease_seconds=30, limit=10) == []
    at(db_clock, T0)
    claim = await claim_one(store)
    assert (claim.step_id, claim.position, claim.next_number) == ("a", 0, 1)
    run = await store.get_run("wfr_1")
    assert run.status == "running"
    assert run.trigger == {"email": "ada@example.com"}
    assert run.created_at == T0


async def test_a_run_completes_step_after_step(
    contract_store: Store, db_clock: ManualClock
) -> None:
    store = contract_store
    await store.create_run(new_run())
    first = await claim_one(store)
    await attempt(store, db_clock, first, T0, Decision.SUCCEEDED, output={"status": 201})
    at(db_clock, T0 + 2)
    second = await claim_one(store)
    assert second.step_id == "b"
    assert await store.outputs("wfr_1") == {"a": {"status": 201}}
    await attempt(store, db_clock, second, T0 + 2, Decision.SUCCEEDED, output={})
    run = await store.get_run("wfr_1")
    assert run.status == "completed"
    assert (run.updated_at, run.finished_at) == (T0 + 3, T0 + 3)
    assert [s.status for s in run.steps] == ["succeeded", "succeeded"]
    assert await store.seconds_until_due() is None


async def test_a_retry_due_at_t_is_claimed_at_t_and_not_before(
    contract_store: Store, db_clock: ManualClock
) -> None:
    store = contract_store
    await store.create_run(new_run(steps=("a",)))
    claim = await claim_one(store)
    # Ends at T0 + 1 by the store's clock; the retry is due 599 s after that.
    await attempt(store, db_clock, claim, T0, Decision.RETRY, retry_delay=599)
    assert await store.seconds_until_due() == 599
    at(db_clock, T0 + 599.9)
    assert await store.claim_due(lease_seconds=30, limit=10) == []
    assert await store.seconds_until_due() == pytest.approx(0.1)
    at(db_clock, T0 + 600)
    assert await store.seconds_until_due() == 0
    retry = await claim_one(store)
    assert (retry.next_number, retry.attempts_made) == (2, 1)
    run = await store.get_run("wfr_1")
    first, second = run.steps[0].attempts
    assert (first.started_at, first.ended_at, first.next_attempt_at) == (T0, T0 + 1, T0 + 600)
    assert (second.id, second.status, second.started_at) == (retry.attempt_id, "sending", T0 + 600)


async def test_a_claim_records_its_attempt_as_sending(
    contract_store: Store, db_clock: ManualClock
) -> None:
    store = contract_store
    await store.create_run(new_run(steps=("a",)))
    claim = await claim_one(store)
    run = await store.get_run("wfr_1")
    [sending] = run.steps[0].attempts
    assert (sending.id, sending.number, sending.status) == (claim.attempt_id, 1, "sending")
    assert (sending.started_at, sending.ended_at) == (T0, None)


async def test_a_lease_runs_the_steps_timeout_and_the_margin_from_the_stores_now(
    contract_store: Store, db_clock: ManualClock
) -> None:
    store = contract_store
    await store.create_run(new_run(steps=("a",), timeouts=(10,)))
    at(db_clock, T0 + 5)
    claim = await claim_one(store, lease=30)
    assert claim.lease_expires_at == T0 + 45  # 10 s of timeout and 30 s of margin
    at(db_clock, T0 + 44.9)
    assert await store.claim_due(lease_seconds=30, limit=10) == []
    at(db_clock, T0 + 45)
    taker = await claim_one(store)
    assert (taker.interruptions, taker.lease_expires_at, taker.next_number) == (1, T0 + 85, 2)
    run = await store.get_run("wfr_1")
    interrupted, sending = run.steps[0].attempts
    assert (interrupted.status, interrupted.started_at, interrupted.ended_at) == (
        "interrupted",
        T0 + 5,
        T0 + 45,
    )
    assert (sending.id, sending.status) == (taker.attempt_id, "sending")


async def test_a_claim_goes_to_one_worker_only(contract_store: Store) -> None:
    store = contract_store
    for index in range(20):
        await store.create_run(new_run(f"wfr_{index}", ("a",)))
    batches = await asyncio.gather(*(store.claim_due(lease_seconds=30, limit=3) for _ in range(10)))
    claimed = [claim.step_run_id for batch in batches for claim in batch]
    assert len(claimed) == 20
    assert len(set(claimed)) == 20


async def test_a_stalled_worker_whose_lease_expired_cannot_record_its_result(
    contract_store: Store, db_clock: ManualClock
) -> None:
    store = contract_store
    await store.create_run(new_run(steps=("a",)))
    stalled = await claim_one(store, lease=30)  # 30 s of timeout and 30 s of margin
    at(db_clock, T0 + 61)
    taker = await claim_one(store)
    assert taker.lease_token != stalled.lease_token
    assert (taker.interruptions, taker.next_number) == (1, 2)
    at(db_clock, T0 + 62)
    late = FinishedAttempt(
        attempt_id=stalled.attempt_id, succeeded=True, decision=Decision.SUCCEEDED, output={}
    )
    with pytest.raises(LeaseLostError):
        await store.finish_attempt(stalled, late)
    await attempt(store, db_clock, taker, T0 + 63, Decision.SUCCEEDED, output={})
    run = await store.get_run("wfr_1")
    assert [a.status for a in run.steps[0].attempts] == ["interrupted", "succeeded"]
    assert run.status == "completed"


async def test_a_failed_step_skips_the_rest_and_resume_makes_a_new_step_run(
    contract_store: Store, db_clock: ManualClock
) -> None:
    store = contract_store
    await store.create_run(new_run(steps=("a", "b", "c")))
    first = await claim_one(store)
    await attempt(store, db_clock, first, T0, Decision.SUCCEEDED, output={"status": 200})
    at(db_clock, T0 + 2)
    second = await claim_one(store)
    await attempt(store, db_clock, second, T0 + 2, Decision.ERRORED_FAIL)
    run = await store.get_run("wfr_1")
    assert run.status == "failed"
    assert [s.status for s in run.steps] == ["succeeded", "errored", "skipped"]

    at(db_clock, T0 + 10)
    await store.resume("wfr_1", step_run_id="stp_resumed")
    resumed = await claim_one(store)
    assert (resumed.step_run_id, resumed.step_id, resumed.next_number) == ("stp_resumed", "b", 1)
    await attempt(store, db_clock, resumed, T0 + 10, Decision.SUCCEEDED, output={})
    at(db_clock, T0 + 12)
    last = await claim_one(store)
    assert last.step_id == "c"
    await attempt(store, db_clock, last, T0 + 12, Decision.SUCCEEDED, output={})
    run = await store.get_run("wfr_1")
    assert run.status == "completed"
    old, new = [s for s in run.steps if s.step_id == "b"]
    assert (old.status, new.status, new.resumed_from) == ("errored", "succeeded", old.id)
    assert new.attempts[0].started_at == T0 + 10


async def test_only_a_failed_run_can_be_resumed(contract_store: Store) -> None:
    store = contract_store
    await store.create_run(new_run())
    with pytest.raises(RunStateError, match="only a failed run"):
        await store.resume("wfr_1", step_run_id="stp_x")
    with pytest.raises(UnknownRunError, match="no run"):
        await store.resume("wfr_nope", step_run_id="stp_x")


async def test_runs_are_listed_newest_first_and_filtered_by_status(
    contract_store: Store, db_clock: ManualClock
) -> None:
    store = contract_store
    await store.create_run(new_run("wfr_old", ("a",)))
    at(db_clock, T0 + 5)
    await store.create_run(new_run("wfr_new", ("a",)))
    assert [r.id for r in await store.list_runs()] == ["wfr_new", "wfr_old"]
    assert [r.created_at for r in await store.list_runs()] == [T0 + 5, T0]
    assert [r.id for r in await store.list_runs(status="completed")] == []


async def test_a_worker_is_seen_at_the_stores_time(
    contract_store: Store, db_clock: ManualClock
) -> None:
    store = contract_store
    assert await store.seconds_since_worker_seen() is None
    await store.worker_seen("wrk_1", host="h", pid=1)
    at(db_clock, T0 + 7)
    assert await store.last_worker_seen_at() == T0
    assert await store.seconds_since_worker_seen() == 7


async def test_without_a_clock_the_times_are_the_databases_own(store: SqlStore) -> None:
    """PostgreSQL's server clock (`now()`), SQLite's host clock: no caller's clock at all."""
    postgres = store.engine.dialect.name == "postgresql"

    def database_time() -> float:
        if not postgres:
            return time.time()
        with store.engine.connect() as conn:
            return float(
                conn.execute(sa.text("SELECT extract(epoch from clock_timestamp())")).scalar_one()
            )

    before = database_time()
    await store.create_run(new_run(steps=("a",)))
    claim = await claim_one(store, lease=30)
    await store.finish_attempt(
        claim,
        FinishedAttempt(
            attempt_id=claim.attempt_id,
            succeeded=False,
            decision=Decision.RETRY,
            error={"type": "http_status", "message": "503"},
            retry_delay=8,
        ),
    )
    after = database_time()
    run = await store.get_run("wfr_1")
    [sent] = run.steps[0].attempts
    assert sent.ended_at is not None
    assert before <= run.created_at <= sent.started_at <= sent.ended_at <= after
    assert before + 60 <= claim.lease_expires_at <= after + 60  # timeout 30 s, margin 30 s
    assert sent.next_attempt_at == sent.ended_at + 8  # one transaction, one instant
    until = await store.seconds_until_due()
    assert until is not None
    assert 8 - (database_time() - before) <= until <= 8


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
        await store.create_run(new_run(steps=("a",)))
        created = list(statements)
        statements.clear()
        await store.claim_due(lease_seconds=30, limit=1)
    finally:
        await store.close()
    assert created[0] == "PRAGMA synchronous=FULL"
    assert created.index("COMMIT") < created.index("PRAGMA synchronous=NORMAL")
    assert not any("synchronous" in statement for statement in statements)
