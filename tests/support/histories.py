"""Synthetic, valid, hash-chained appeal histories written straight to the topics, fast:
for replays of hundreds of thousands of facts (the benchmark and the bounded-memory test)."""

import asyncio

from shared import envelope, topics
from shared.runtime import kafka
from tests.support import infra
from tests.unit import factories


async def produce(appeals: int) -> int:
    """Five facts per appeal (received, assigned, handled, rated, closed); returns how many."""
    producer = kafka.producer(infra.KAFKA, client_id="histories")
    await producer.start()
    sent = 0
    try:
        pending = []
        for _ in range(appeals):
            heads: dict[str, tuple[int, str]] = {}
            for event in factories.full_history():
                version, prev = heads.get(event.source, (0, envelope.GENESIS_HASH))
                recorded = envelope.encode(event, version=version + 1, prev_hash=prev)
                heads[event.source] = (version + 1, recorded.hash)
                pending.append(
                    await producer.send(
                        topics.BY_SOURCE[event.source],
                        value=recorded.body,
                        key=str(event.subject).encode(),
                    )
                )
                sent += 1
            if len(pending) > 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return sent
