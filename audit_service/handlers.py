"""audit keeps every fact it reads, from every topic, exactly as it arrived."""

from audit_service import store
from shared.runtime.consumer import Delivery
from shared.runtime.eventstore import Tx


async def ingest(delivery: Delivery, tx: Tx) -> None:
    await store.add_facts(tx.conn, [store.fact_row(delivery)])
