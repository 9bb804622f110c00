"""Reading the log from offset 0 up to a replay's end offsets, batch by batch: what a
rebuild (replay.py) and an in-place check (in_place.py) share."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from audit_service import store
from audit_service.domain import wire
from shared import envelope, events, topics
from shared.runtime import kafka
from shared.runtime.consumer import Delivery


def partition(key: str) -> TopicPartition:
    topic, _, number = key.rpartition(":")
    return TopicPartition(topic, int(number))


@asynccontextmanager
async def reading(
    bootstrap: str, end_offsets: dict[str, int]
) -> AsyncIterator[AsyncIterator[list[Any]]]:
    """The log's records below the end offsets, in the batches the broker hands out; each
    partition's records in offset order."""
    ends = {partition(key): end for key, end in end_offsets.items() if end > 0}
    if not ends:  # an empty log: a consumer started and stopped at once fails to stop
        yield _nothing()
        return
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        isolation_level="read_committed",
        # Small fetch buffers keep memory flat however long the log is (aiokafka prefetches
        # up to these); writing or looking up, not fetching, bounds a replay's speed.
        max_partition_fetch_bytes=256 << 10,
        fetch_max_bytes=4 << 20,
        **kafka.client_security(),
    )
    await consumer.start()
    try:
        yield _batches(consumer, ends)
    finally:
        await consumer.stop()


async def _batches(
    consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]
) -> AsyncIterator[list[Any]]:
    consumer.assign(list(ends))
    await consumer.seek_to_beginning(*ends)
    remaining = set(ends)
    while remaining:
        batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
        yield [
            record
            for tp, records in batches.items()
            for record in records
            if record.offset < ends[tp]
        ]
        remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}


async def _nothing() -> AsyncIterator[list[Any]]:
    return
    yield


def fact_row(record: Any) -> wire.Columns | None:
    """The record's row if it holds a fact of a known type from its topic's source."""
    row = wire.columns(record.value, record.topic, record.partition, record.offset)
    if row is None:  # not in canonical form: the model says whether it is a fact at all
        try:
            fact = envelope.decode(record.value)
        except envelope.DecodeError:
            return None  # the live loop parked it too
        row = store.fact_columns(Delivery(fact, record.topic, record.partition, record.offset))
    model = events.EVENT_TYPES.get(row[2])
    if model is None or model.source != row[1] or topics.BY_SOURCE.get(row[1]) != record.topic:
        return None
    return row


def decodes(value: bytes) -> bool:
    """Whether the live loop would record these bytes (their event's model builds)."""
    try:
        envelope.check(value)
    except envelope.DecodeError:
        return False
    return True
