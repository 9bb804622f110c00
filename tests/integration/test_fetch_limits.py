"""A consumer fetches at most 64 KB a partition ahead (shared/runtime/kafka.FETCH_LIMITS). A
record batch larger than that must still arrive, neither skipped nor stuck, beside a
backlog on another partition that fills every fetch. The broker sends such a batch only
when its partition comes first in a fetch; aiokafka shuffles them, so in about half the
runs the large record waits for a later fetch than the first."""

import os
from uuid import uuid4

from shared.runtime import kafka
from tests.support import infra

SMALL = 3000  # records of 1 KB on the first topic: a backlog of several fetches
LARGE = 200_000  # bytes that do not compress: one batch three times a partition's share


async def test_a_batch_larger_than_a_partitions_share_still_arrives(servers: None) -> None:
    backlog, large = await infra.scratch_topic(), await infra.scratch_topic()
    producer = kafka.producer(infra.KAFKA, client_id="test-fetch-limits")
    await producer.start()
    try:
        sent = [await producer.send(backlog, os.urandom(1024)) for _ in range(SMALL)]
        sent.append(await producer.send(large, os.urandom(LARGE)))
        for delivery in sent:
            await delivery
    finally:
        await producer.stop()
    group = f"test-fetch-limits-{uuid4().hex[:8]}"
    consumer = kafka.consumer(
        infra.KAFKA, group=group, instance_id=None, subscribe=[backlog, large]
    )
    await consumer.start()
    read: dict[str, list[int]] = {backlog: [], large: []}
    try:
        for _ in range(200):
            for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                read[tp.topic] += [len(record.value) for record in records]
            if len(read[backlog]) == SMALL and read[large]:
                break
    finally:
        await consumer.stop()
    assert read[large] == [LARGE]
    assert len(read[backlog]) == SMALL
