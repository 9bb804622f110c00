"""A command's facts and its read model commit in one transaction, on real PostgreSQL.

The hot paths write as few statements as they can (a filing's row written once with the
status its facts leave it at, its Open311 updates in one insert): this holds them to the
rule that makes that safe. Every row carries `xmin`, the id of the transaction that wrote
its current version, so facts written in one transaction and their read model in another,
or facts written without their read model, show here as a second id or a missing row.
"""

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from audit_service import handlers as audit_handlers
from audit_service.main import MIGRATIONS as AUDIT_MIGRATIONS
from dispatch_service import handlers as dispatch_handlers
from dispatch_service import seed
from dispatch_service.main import MIGRATIONS as DISPATCH_MIGRATIONS
from intake_service import commands, domain, filing, personal
from intake_service import handlers as intake_handlers
from intake_service.settings import IntakeSettings
from shared import envelope, events, topics
from shared.decisions import Context
from shared.runtime import faults, metrics, positions
from shared.runtime.batch import BatchTx
from shared.runtime.consumer import ConsumeLoop
from shared.runtime.database import Database
from shared.runtime.eventstore import ConcurrencyError, Tx
from tests.support import consuming, infra
from tests.unit import factories

pytestmark = pytest.mark.integration

APPEAL = domain.NewAppeal(
    channel="phone",
    appeal_type="complaint",
    category="water.outage",
    content="幸福小区3号楼停水两天",
    citizen=events.Citizen(phone="13800138000"),
)
KEYRING = personal.Keyring.of(IntakeSettings())
OPERATOR = Context(actor="operator:test", now=factories.T0)


async def _writers(db: Database, sql: str, stream: UUID) -> list[Any]:
    """The transaction ids that wrote the rows `sql` selects (its one parameter: `s`)."""
    async with db.transaction() as tx:
        return [row[0] for row in await tx.conn.execute(text(sql), {"s": stream})]


async def _newest_fact_writer(db: Database, stream: UUID) -> Any:
    [writer] = await _writers(
        db,
        "SELECT xmin::text FROM events WHERE stream_id = :s ORDER BY version DESC LIMIT 1",
        stream,
    )
    return writer


async def test_a_filing_writes_its_facts_row_and_updates_in_one_transaction(db: Database) -> None:
    async with db.transaction() as tx:
        received = await filing.file_appeal(tx, APPEAL, context=OPERATOR, keyring=KEYRING)
    appeal = received.subject
    facts = await _writers(db, "SELECT xmin::text FROM events WHERE stream_id = :s", appeal)
    row = await _writers(db, "SELECT xmin::text FROM appeals WHERE id = :s", appeal)
    feed = await _writers(db, "SELECT xmin::text FROM open311_updates WHERE appeal_id = :s", appeal)
    assert len(facts) == 2  # appeal.received, appeal.forwarded
    assert len(row) == 1
    assert len(feed) == 2
    assert set(facts) == set(row) == set(feed)
    [status] = await _writers(db, "SELECT status FROM appeals WHERE id = :s", appeal)
    stages = await _writers(
        db, "SELECT jsonb_object_keys(stages::jsonb) FROM appeals WHERE id = :s", appeal
    )
    assert status == "forwarded"  # the row shows what both facts leave it at
    assert set(stages) == {"received", "forwarded"}


async def test_a_decision_writes_its_fact_and_read_model_in_one_transaction(
    db: Database,
) -> None:
    async with db.transaction() as tx:
        received = await filing.file_appeal(
            tx, APPEAL, context=OPERATOR, keyring=KEYRING, hold=True
        )
    appeal = received.subject
    filed = await _newest_fact_writer(db, appeal)
    async with db.transaction() as tx:
        await commands.forward(tx, appeal, context=OPERATOR, if_match='"1"')
    decided = await _newest_fact_writer(db, appeal)
    row = await _writers(db, "SELECT xmin::text FROM appeals WHERE id = :s", appeal)
    feed = await _writers(
        db,
        "SELECT xmin::text FROM open311_updates WHERE appeal_id = :s ORDER BY updated_at, id",
        appeal,
    )
    assert decided != filed
    assert row == [decided]  # the row was rewritten by the decision's own transaction
    assert feed[-1] == decided


async def test_an_assignment_writes_its_fact_and_work_order_in_one_transaction(
    servers: None,
) -> None:
    url = await infra.fresh_database("t_one_tx", DISPATCH_MIGRATIONS)
    engine = create_async_engine(url)
    db = Database(engine)
    try:
        async with db.transaction() as tx:
            await seed.seed(tx)
        forwarded = factories.forwarded(factories.received())
        async with db.transaction() as tx:
            await dispatch_handlers.HANDLERS[events.AppealForwarded](forwarded, tx)
        appeal = forwarded.subject
        facts = await _writers(db, "SELECT xmin::text FROM events WHERE stream_id = :s", appeal)
        order = await _writers(
            db, "SELECT xmin::text FROM work_orders WHERE appeal_id = :s", appeal
        )
    finally:
        await engine.dispose()
    assert len(facts) == 1
    assert len(order) == 1
    assert facts == order


@pytest.fixture
async def dispatch_db(servers: None) -> AsyncIterator[Database]:
    engine = create_async_engine(await infra.fresh_database("t_batch", DISPATCH_MIGRATIONS))
    db = Database(engine)
    async with db.transaction() as tx:
        await seed.seed(tx)
    yield db
    await engine.dispose()


async def test_a_consume_batch_writes_every_records_facts_and_work_order_in_one_transaction(
    dispatch_db: Database,
) -> None:
    forwards = [factories.forwarded(factories.received()) for _ in range(3)]
    assign = dispatch_handlers.HANDLERS[events.AppealForwarded]
    async with dispatch_db.transaction(BatchTx) as tx:
        assert isinstance(tx, BatchTx)
        # as the consume loop reads them: the inbox rows and the appeals' streams at once
        await tx.first_deliveries(
            "dispatch",
            [forwarded.id for forwarded in forwards],
            streams=[(forwarded.id, forwarded.subject) for forwarded in forwards],
        )
        for forwarded in forwards:
            await assign(forwarded, tx)
        # Held for the flush before the commit: one statement for all three.
        assert await tx.conn.scalar(text("SELECT count(*) FROM work_orders")) == 0
    writers: list[Any] = []
    for forwarded in forwards:
        for sql in (
            "SELECT xmin::text FROM events WHERE stream_id = :s",
            "SELECT xmin::text FROM work_orders WHERE appeal_id = :s",
        ):
            found = await _writers(dispatch_db, sql, forwarded.subject)
            assert len(found) == 1
            writers += found
    assert len(set(writers)) == 1


async def test_a_consume_batch_that_lost_a_race_to_append_fails_whole_at_its_flush(
    dispatch_db: Database,
) -> None:
    forwarded = factories.forwarded(factories.received())
    assign = dispatch_handlers.HANDLERS[events.AppealForwarded]

    async def batch_losing_the_race() -> None:
        async with dispatch_db.transaction(BatchTx) as tx:
            await assign(forwarded, tx)
            async with dispatch_db.transaction() as other:  # commits first
                await assign(forwarded, other)

    with pytest.raises(ConcurrencyError):
        await batch_losing_the_race()
    facts = await _writers(
        dispatch_db, "SELECT xmin::text FROM events WHERE stream_id = :s", forwarded.subject
    )
    order = await _writers(
        dispatch_db, "SELECT xmin::text FROM work_orders WHERE appeal_id = :s", forwarded.subject
    )
    assert len(facts) == 1
    assert facts == order  # the winner's, whole; nothing of the batch's


async def test_a_batch_that_lost_a_race_is_redone_record_by_record_not_retried_whole(
    dispatch_db: Database,
) -> None:
    """Routes keep writing streams a large batch also touches: retrying the whole batch
    could lose again and again; redone one record at a time, only the raced one waits."""
    first, raced = (factories.forwarded(factories.received()) for _ in range(2))
    assign = dispatch_handlers.HANDLERS[events.AppealForwarded]

    async def assign_while_a_route_writes(event: events.AppealForwarded, tx: Tx) -> None:
        if event.subject == first.subject and not raced_already:
            raced_already.append(True)
            async with dispatch_db.transaction() as route:  # commits before the batch
                await assign(raced, route)
        await assign(event, tx)

    raced_already: list[bool] = []
    loop = ConsumeLoop(
        dispatch_db,
        lambda: None,
        group="dispatch",
        service="dispatch",
        handlers={events.AppealForwarded: assign_while_a_route_writes},
        crash=faults.CrashPoints(None),
    )
    records = [
        SimpleNamespace(
            topic=topics.INTAKE,
            partition=0,
            offset=offset,
            key=str(event.subject).encode(),
            value=envelope.encode(event, version=2, prev_hash=envelope.GENESIS_HASH).body,
            headers=[],
        )
        for offset, event in enumerate((first, raced))
    ]
    retried = metrics.RETRIES.labels("dispatch")._value.get()
    await loop._apply_batch(records, asyncio.Event())
    assert metrics.RETRIES.labels("dispatch")._value.get() == retried
    for event in (first, raced):
        found = await _writers(
            dispatch_db, "SELECT xmin::text FROM work_orders WHERE appeal_id = :s", event.subject
        )
        assert len(found) == 1


async def test_a_consume_batch_at_intake_writes_inbox_rows_and_read_models_in_one_transaction(
    db: Database,
) -> None:
    async with db.transaction() as tx:
        received = await filing.file_appeal(tx, APPEAL, context=OPERATOR, keyring=KEYRING)
    assigned = factories.assigned(received)
    signed = factories._dispatch_fact(events.SignedFor, assigned, department="water", person="李")
    first = envelope.encode(assigned, version=1, prev_hash=envelope.GENESIS_HASH)
    second = envelope.encode(signed, version=2, prev_hash=first.hash)
    url = db.engine.url.render_as_string(hide_password=False)
    await consuming.apply(
        url,
        consuming.records(first, second, topic=topics.DISPATCH),
        handlers=intake_handlers.HANDLERS,
        on_fact=positions.record,
    )
    appeal = received.subject
    writers = set()
    for sql in (
        "SELECT xmin::text FROM appeals WHERE id = :s",
        "SELECT xmin::text FROM open311_updates WHERE appeal_id = :s AND fact_type <> "
        "'appeal.received' AND fact_type <> 'appeal.forwarded'",
        "SELECT xmin::text FROM stream_positions WHERE stream_id = :s",
    ):
        writers |= set(await _writers(db, sql, appeal))
    inbox = await _writers(
        db,
        "SELECT xmin::text FROM processed_events WHERE event_id = ANY(CAST(:s AS uuid[]))",
        [assigned.id, signed.id],  # type: ignore[arg-type]
    )
    assert len(inbox) == 2
    assert len(writers) == 1
    assert writers == set(inbox)
    [status] = await _writers(db, "SELECT status FROM appeals WHERE id = :s", appeal)
    assert status == "in_progress"


async def test_a_consume_batch_at_audit_records_facts_with_their_inbox_rows_parks_a_failure(
    servers: None,
) -> None:
    url = await infra.fresh_database("t_one_audit", AUDIT_MIGRATIONS)
    appeals = [factories.received() for _ in range(3)]
    failing = appeals[1].id

    async def record_but_one(delivery: Any, tx: Tx) -> None:
        if delivery.fact.event.id == failing:
            raise ValueError("inapplicable")
        await audit_handlers.on_fact(delivery, tx)

    facts = [envelope.encode(e, version=1, prev_hash=envelope.GENESIS_HASH) for e in appeals]
    await consuming.apply(
        url, consuming.records(*facts, topic=topics.INTAKE), handlers={}, on_fact=record_but_one
    )
    [(recorded, writers, held)] = await infra.query(
        url,
        "SELECT count(*), count(DISTINCT f.xmin::text), count(p.event_id) FROM facts f "
        "LEFT JOIN processed_events p ON p.event_id = f.event_id AND p.xmin = f.xmin",
    )
    assert recorded == 2  # each once: the failed batch's held rows were never written
    assert writers == 2  # redone record by record, each in its own transaction
    assert held == 2  # each with its inbox row, in that transaction
    assert await infra.query(url, "SELECT count(*) FROM parked_messages") == [(1,)]


async def test_a_record_whose_note_cannot_be_made_is_parked_without_it_not_retried(
    servers: None,
) -> None:
    """A service's park hook that fails on the record itself (audit's once did on a forged
    body claiming `"source": []`) must not fail the park: it would be redone forever, and
    hold its partition and every batch with it."""
    url = await infra.fresh_database("t_one_park", AUDIT_MIGRATIONS)
    fact = envelope.encode(factories.received(), version=1, prev_hash=envelope.GENESIS_HASH)
    forged = consuming.record(b'{"source": []}', topics.INTAKE, uuid4(), 0)
    after = consuming.record(fact.body, topics.INTAKE, fact.event.subject, 1)

    async def unable(record: Any, reason: str, tx: Tx) -> None:
        raise TypeError("unhashable type: 'list'")

    await consuming.apply(
        url, [forged, after], handlers={}, on_fact=audit_handlers.on_fact, on_park=unable
    )
    [(offset, reason)] = await infra.query(url, 'SELECT "offset", reason FROM parked_messages')
    assert offset == 0
    assert "noting it failed: TypeError: unhashable type: 'list'" in reason
    assert await infra.query(url, "SELECT count(*) FROM facts") == [(1,)]  # the next applied
