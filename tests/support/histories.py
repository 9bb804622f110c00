"""Synthetic, valid, hash-chained appeal histories written straight to the topics, fast:
for replays of hundreds of thousands of facts (the benchmark and the bounded-memory test)."""

import asyncio

from shared import topics
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
            for recorded in factories.chained(factories.full_history()):
                pending.append(
                    await producer.send(
                        topics.BY_SOURCE[recorded.source],
                        value=recorded.body,
                        key=str(recorded.event.subject).encode(),
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
