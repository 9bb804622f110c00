"""A consume batch leaves each service's read models exactly as its records applied one at
a time do, on real PostgreSQL.

audit, feedback and intake hold a batch's read-model rows in memory and write them in one
statement per table at its flush (shared.runtime.batch); what a record sees of the records
before it in the batch comes from that memory, not the database. Here the same records, with
duplicates, a rewritten fact and a gap among them, are applied to two copies of one
database: as one batch, as one record per batch (how a failed batch is redone), and each
record in a plain transaction, where every store writes its rows as it goes (the reference).
Every table the handlers write must end the same.
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from audit_service import handlers as audit
from audit_service.main import MIGRATIONS as AUDIT_MIGRATIONS
from feedback_service import handlers as feedback
from feedback_service.main import MIGRATIONS as FEEDBACK_MIGRATIONS
from feedback_service.store import notifications
from intake_service import filing
from intake_service import handlers as intake
from intake_service.main import MIGRATIONS as INTAKE_MIGRATIONS
from shared import envelope, events, topics
from shared.runtime import positions
from shared.runtime.batch import BatchTx
from shared.runtime.consumer import Delivery
from shared.runtime.database import Database
from tests.integration.test_one_transaction import APPEAL, KEYRING, OPERATOR
from tests.support import consuming, infra
from tests.unit import factories

pytestmark = pytest.mark.integration


class Stream:
    """Records as a relay would publish them: each stream numbered and hash-chained."""

    def __init__(self) -> None:
        self.records: list[Any] = []
        self._heads: dict[tuple[str, uuid.UUID], tuple[int, str]] = {}

    def add(self, *facts: events.Event, version: int | None = None) -> None:
        for event in facts:
            head = self._heads.get((event.source, event.subject), (0, envelope.GENESIS_HASH))
            recorded = envelope.encode(event, version=version or head[0] + 1, prev_hash=head[1])
            self._heads[(event.source, event.subject)] = (recorded.version, recorded.hash)
            self.again(recorded.body, topics.BY_SOURCE[event.source], event.subject)

    def again(self, body: bytes, topic: str, key: uuid.UUID) -> None:
        """A record with these bytes (a redelivery, or a rewrite of a fact's content)."""
        self.records.append(consuming.record(body, topic, key, len(self.records)))


async def _copies(template_url: str) -> list[str]:
    """Two databases cloned from the (idle) template: what each way of applying starts from."""
    conn = await asyncpg.connect(
        host="127.0.0.1", port=infra.PG_PORT, user="hotline", database="postgres"
    )
    template, names = template_url.rsplit("/", 1)[1], []
    try:
        for _ in range(3):
            names.append(f"{template[:40]}_{uuid.uuid4().hex[:8]}")
            await conn.execute(f'CREATE DATABASE "{names[-1]}" TEMPLATE "{template}"')
    finally:
        await conn.close()
    return [infra.pg_url(name, role=infra.RUNTIME) for name in names]


async def _unbatched(url: str, records: Sequence[Any], **spec: Any) -> None:
    """The reference: each record in a transaction of its own, not a batch's (`Tx`, so the
    stores write as they go), as the consume loop applied records before batches."""
    engine = create_async_engine(url)
    try:
        for record in records:
            fact = envelope.decode(record.value)
            delivery = Delivery(fact, record.topic, record.partition, record.offset)
            async with Database(engine).transaction() as tx:
                assert not isinstance(tx, BatchTx)
                if not await tx.first_delivery("g", fact.event.id):
                    if (duplicate := spec.get("on_duplicate")) is not None:
                        await duplicate(delivery, tx)
                    continue
                if (on_fact := spec.get("on_fact")) is not None:
                    await on_fact(delivery, tx)
                if (handler := spec["handlers"].get(type(fact.event))) is not None:
                    await handler(fact.event, tx)
    finally:
        await engine.dispose()


async def _same_after_both(
    template_url: str, records: Sequence[Any], queries: Sequence[str], **spec: Any
) -> list[list[tuple[Any, ...]]]:
    batched, alone, reference = await _copies(template_url)
    await consuming.apply(batched, records, one_by_one=False, **spec)
    await consuming.apply(alone, records, one_by_one=True, **spec)
    await _unbatched(reference, records, **spec)
    found = [[await infra.query(url, sql) for sql in queries] for url in (batched, alone)]
    expected = [await infra.query(reference, sql) for sql in queries]
    assert found[0] == expected
    assert found[1] == expected
    return expected


_POSITIONS = "SELECT source, stream_id, version FROM stream_positions ORDER BY 1, 2"
_INBOX = "SELECT event_id FROM processed_events ORDER BY 1"


async def test_intake_batch_moves_statuses_and_open311_updates_as_records_alone_do(
    servers: None,
) -> None:
    url = await infra.fresh_database("t_cb_intake", INTAKE_MIGRATIONS)
    engine = create_async_engine(url)
    db = Database(engine)
    filed = []
    for _ in range(3):
        async with db.transaction() as tx:
            filed.append(await filing.file_appeal(tx, APPEAL, context=OPERATOR, keyring=KEYRING))
    await engine.dispose()
    one, two, three = filed
    facts = Stream()
    a1, a2, a3 = (factories.assigned(r) for r in filed)
    s1, s2 = (
        factories._dispatch_fact(events.SignedFor, a, department="water", person="李")
        for a in (a1, a2)
    )
    moved = factories.dispatch_facts(factories.assigned(three, department="power"))[0]
    h1 = factories.handled(a1)
    r1 = factories.rated(h1)
    facts.add(a1, a2, a3, s1)
    facts.again(facts.records[1].value, topics.DISPATCH, two.subject)  # a2 redelivered
    facts.add(moved, h1, s2, r1, factories.closed(r1))
    rows = await _same_after_both(
        url,
        facts.records,
        [
            "SELECT id, status, status_round, status_at, stages, department FROM appeals "
            "ORDER BY id",
            "SELECT update_id, appeal_id, fact_type, status, description, updated_at, "
            "department, due FROM open311_updates ORDER BY appeal_id, updated_at, id",
            _POSITIONS,
            _INBOX,
        ],
        handlers=intake.HANDLERS,
        on_fact=positions.record,
    )
    statuses = {row[0]: (row[1], row[5]) for row in rows[0]}
    assert statuses[one.subject] == ("closed", "water")
    assert statuses[two.subject] == ("in_progress", "water")
    assert statuses[three.subject] == ("assigned", "power")
    assert len(rows[3]) == 9  # every fact once, the redelivery not again


async def test_feedback_batch_keeps_holders_filers_and_deliveries_as_records_alone_do(
    servers: None,
) -> None:
    url = await infra.fresh_database("t_cb_feedback", FEEDBACK_MIGRATIONS)
    engine = create_async_engine(url)
    async with Database(engine).transaction() as tx:
        await notifications.create_subscription(
            tx, id=uuid.uuid4(), filer="operator:li", url="https://partner.example/hook",
            secret="s" * 32, created_at=datetime.now(UTC),
        )  # fmt: skip
    await engine.dispose()
    one, two = factories.received(), factories.received()
    a1, a2 = factories.assigned(one), factories.assigned(two)
    later = factories.dispatch_facts(a1)
    moved = later[0]  # redispatched to power: the round stays
    redo = next(e for e in later if isinstance(e, events.RedoOrdered))
    sign = factories._dispatch_fact
    facts = Stream()
    facts.add(one, two)
    facts.add(a1, sign(events.SignedFor, a1, department="water", person="李"), a2, moved)
    facts.add(sign(events.SignedFor, moved, department="water", person="王"))  # not its holder
    facts.add(redo, sign(events.SignedFor, a2, department="water", person="张"))
    facts.again(facts.records[0].value, topics.INTAKE, one.subject)
    rows = await _same_after_both(
        url,
        facts.records,
        [
            "SELECT appeal_id, department, assigned_event_id, round, signed_for FROM holders "
            "ORDER BY 1",
            "SELECT appeal_id, filed_by, channel, key_id, personal_data IS NULL FROM appeals "
            "ORDER BY 1",
            "SELECT subscription_id, appeal_id, event_id, kind, body FROM deliveries "
            "ORDER BY event_id",
            _POSITIONS,
            _INBOX,
        ],
        handlers=feedback.HANDLERS,
        on_fact=positions.record,
    )
    holders = {row[0]: row[1:] for row in rows[0]}
    assert holders[one.subject] == ("water", redo.id, 2, False)
    assert holders[two.subject] == ("water", a2.id, 1, True)
    assert len(rows[1]) == 2
    assert len(rows[2]) == 7  # a partner delivery per status change of its appeals


async def test_audit_batch_records_facts_and_findings_as_records_alone_do(servers: None) -> None:
    url = await infra.fresh_database("t_cb_audit", AUDIT_MIGRATIONS)
    received, assigned, handled, rated, closed = factories.full_history()
    other = factories.received()
    facts = Stream()
    facts.add(received, other, assigned, handled)
    facts.again(facts.records[2].value, topics.DISPATCH, received.subject)  # the same again
    rewritten = envelope.encode(
        assigned.model_copy(update={"department": "power"}), version=1,
        prev_hash=envelope.GENESIS_HASH,
    )  # fmt: skip
    facts.again(rewritten.body, topics.DISPATCH, received.subject)  # its id, other content
    facts.add(rated)
    facts.add(closed, version=5)  # dispatch's versions 2 to 4 never arrive
    rows = await _same_after_both(
        url,
        facts.records,
        [
            'SELECT event_id, hash, topic, "offset" FROM facts ORDER BY seq',
            'SELECT kind, event_id, topic, "offset", detail FROM findings ORDER BY id',
            "SELECT count(*) FROM facts WHERE seal IS NULL",
        ],
        handlers=audit.HANDLERS,
        on_fact=audit.on_fact,
        on_duplicate=audit.on_duplicate,
        on_park=audit.on_park,
    )
    assert len(rows[0]) == 6
    assert sorted(row[0] for row in rows[1]) == ["gap", "reused_id"]
    assert rows[2] == [(0,)]
