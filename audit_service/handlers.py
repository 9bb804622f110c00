"""audit keeps every fact it reads, from every topic, exactly as it arrived, and records as
findings what a true history cannot contain (see findings.py)."""

from typing import Any

from audit_service import store
from audit_service.domain import findings
from shared.runtime.consumer import Delivery
from shared.runtime.eventstore import Tx


async def ingest(delivery: Delivery, tx: Tx) -> None:
    row = store.fact_row(delivery)
    await store.add_facts(tx.conn, [row])
    fact = store.to_fact(row)
    stream = await store.stream_facts(tx.conn, fact.subject, fact.source)
    await store.add_findings(
        tx.conn,
        [
            found.row(delivery.topic, delivery.partition, delivery.offset)
            for found in findings.links(fact, stream)
        ],
    )


async def redelivered(delivery: Delivery, tx: Tx) -> None:
    """A fact id audit already holds: fine if it is the same fact, a finding if it is not."""
    fact = store.to_fact(store.fact_row(delivery))
    recorded = await store.fact_hash(tx.conn, fact.event_id)
    found = None if recorded is None else findings.reused_id(fact, recorded)
    if found is not None:
        position = (delivery.topic, delivery.partition, delivery.offset)
        await store.add_findings(tx.conn, [found.row(*position)])


async def parked(record: Any, reason: str, tx: Tx) -> None:
    """A record the consumer would not take as a fact: kept as a finding where it was read."""
    found = findings.parked(record.value, record.topic, reason)
    await store.add_findings(tx.conn, [found.row(record.topic, record.partition, record.offset)])
