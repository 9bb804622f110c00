"""audit's reactions, its table of contents for what it reads: it keeps every fact it reads,
from every topic, exactly as it arrived (`on_fact`), and records as findings what a true
history cannot contain (see domain/findings.py): a fact that breaks its stream's chain, a
fact id reused for other content (`on_duplicate`), a record that is no fact at all
(`on_park`). It reacts to no fact type in particular, so `HANDLERS` is empty and main.py
subscribes it to every topic."""

from typing import Any, Final
from uuid import UUID

from audit_service import store
from audit_service.domain import Fact, findings
from shared.runtime.batch import BatchTx
from shared.runtime.consumer import Delivery, Handlers
from shared.runtime.eventstore import Tx

_STREAMS: Final = "audit.streams"  # Tx.memo: the batch's streams, by (subject, source)


async def on_fact(delivery: Delivery, tx: Tx) -> None:
    """Every fact read: recorded, and checked against its stream as recorded so far (never
    while a replay's switch-over rewrites the store: it holds the ingest lock exclusively).
    A consume batch reads the streams of all its facts at once and writes its facts in one
    statement at its flush; the check sees the batch's earlier facts, as if written."""
    fact = store.delivered(delivery)
    if not isinstance(tx, BatchTx):
        await store.hold_ingest_lock(tx.conn)
        await store.add_facts(tx.conn, [store.fact_row(delivery)])
        stream = await store.stream_facts(tx.conn, fact.subject, fact.source)
    else:
        streams = await _streams(tx)
        key = (fact.subject, fact.source)
        if key not in streams:  # a fact the batch did not name in advance
            streams[key] = await store.stream_facts(tx.conn, *key)
        store.hold_fact(tx, store.fact_row(delivery))
        stream = streams[key]
        if all(known.event_id != fact.event_id for known in stream):
            stream.append(fact)
    await store.add_findings(
        tx.conn,
        [
            found.row(delivery.topic, delivery.partition, delivery.offset)
            for found in findings.links(fact, stream)
        ],
    )


async def _streams(tx: BatchTx) -> dict[tuple[UUID, str], list[Fact]]:
    """The streams of the batch's facts as recorded, read once per transaction (after the
    ingest lock) and kept current as the batch's facts are held."""
    if _STREAMS not in tx.memo:
        await store.hold_ingest_lock(tx.conn)
        wanted = [(fact.event.subject, fact.source) for fact in tx.batch]
        tx.memo[_STREAMS] = await store.streams_facts(tx.conn, wanted)
    streams: dict[tuple[UUID, str], list[Fact]] = tx.memo[_STREAMS]
    return streams


async def on_duplicate(delivery: Delivery, tx: Tx) -> None:
    """A fact id audit already holds: fine if it is the same fact, a finding if it is not."""
    fact = store.delivered(delivery)
    recorded = store.held_hash(tx, fact.event_id) if isinstance(tx, BatchTx) else None
    if recorded is None:
        recorded = await store.fact_hash(tx.conn, fact.event_id)
    found = None if recorded is None else findings.reused_id(fact, recorded)
    if found is not None:
        position = (delivery.topic, delivery.partition, delivery.offset)
        await store.add_findings(tx.conn, [found.row(*position)])


async def on_park(record: Any, reason: str, tx: Tx) -> None:
    """A record the consumer would not take as a fact: kept as a finding where it was read."""
    found = findings.parked(record.value, record.topic, reason=reason)
    await store.add_findings(tx.conn, [found.row(record.topic, record.partition, record.offset)])


HANDLERS: Handlers = {}  # no fact type in particular: every fact goes through on_fact
