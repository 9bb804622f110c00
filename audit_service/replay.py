"""Rebuild the audit projection from offset 0 into a fresh schema, then compare it with the
live one, which keeps serving meanwhile. Both are cut at the same end offsets (taken when
the replay starts), so a live projection that has read further still compares equal."""

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from audit_service import comparison, domain, store
from shared import envelope, topics
from shared.runtime import kafka
from shared.runtime.consumer import Delivery

log = logging.getLogger("hotline.audit.replay")


def _key(tp: TopicPartition) -> str:
    return f"{tp.topic}:{tp.partition}"


async def start(engine: AsyncEngine, bootstrap: str) -> tuple[int, str, dict[str, int]]:
    """Record a replay job with the current end offsets; returns (id, schema, end offsets)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, **kafka.client_security()
    )
    await consumer.start()
    try:
        all_partitions = await kafka.partitions(bootstrap, topics.ALL)
        ends = {
            _key(tp): offset for tp, offset in (await consumer.end_offsets(all_partitions)).items()
        }
    finally:
        await consumer.stop()
    async with engine.begin() as conn:
        replay_id, schema_name = await store.new_replay(conn, ends)
        await store.create_projection_schema(conn, schema_name)
    return replay_id, schema_name, ends


async def run(
    engine: AsyncEngine,
    bootstrap: str,
    *,
    replay_id: int,
    schema_name: str,
    end_offsets: dict[str, int],
) -> None:
    try:
        read = await rebuild(engine, bootstrap, schema_name, end_offsets, replay_id)
        report = await comparison.compare(engine, schema_name, end_offsets)
        status = "equal" if report["equal"] else "different"
        async with engine.begin() as conn:
            await store.update_replay(
                conn,
                replay_id,
                status=status,
                facts_read=read,
                finished_at=datetime.now(UTC),
                report=report,
            )
    except Exception as exc:
        log.exception("replay failed", extra={"replay_id": replay_id})
        async with engine.begin() as conn:
            await store.update_replay(
                conn,
                replay_id,
                status="failed",
                finished_at=datetime.now(UTC),
                report={"error": f"{type(exc).__name__}: {exc}"},
            )
        raise


async def rebuild(
    engine: AsyncEngine,
    bootstrap: str,
    schema_name: str,
    end_offsets: dict[str, int],
    replay_id: int,
) -> int:
    """Read every partition from offset 0 to its end offset into the replay's schema.

    Writing batch n (COPY, on the database's core) overlaps decoding batch n+1 (on ours);
    one write is in flight at a time, so facts land in read order.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        isolation_level="read_committed",
        # Small fetch buffers keep memory flat however long the log is (aiokafka prefetches
        # up to these); decoding, not fetching, bounds a replay's speed, so none is lost.
        max_partition_fetch_bytes=256 << 10,
        fetch_max_bytes=4 << 20,
        **kafka.client_security(),
    )
    await consumer.start()
    try:
        ends = {_partition(key): end for key, end in end_offsets.items() if end > 0}
        consumer.assign(list(ends))
        await consumer.seek_to_beginning(*ends)
        remaining, read = set(ends), 0
        writing: asyncio.Task[None] | None = None
        while remaining:
            batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
            rows = [
                row
                for tp, records in batches.items()
                for record in records
                if record.offset < ends[tp] and (row := _row(record)) is not None
            ]
            if writing is not None:
                await writing
            read += len(rows)
            writing = asyncio.create_task(_write(engine, schema_name, rows, replay_id, read))
            remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
        if writing is not None:
            await writing
        return read
    finally:
        await consumer.stop()


async def _write(
    engine: AsyncEngine, schema_name: str, rows: list[dict[str, Any]], replay_id: int, read: int
) -> None:
    async with engine.begin() as conn:
        await store.copy_facts(conn, schema_name, rows)
        await store.update_replay(conn, replay_id, facts_read=read)


def _partition(key: str) -> TopicPartition:
    topic, _, partition = key.rpartition(":")
    return TopicPartition(topic, int(partition))


def _row(record: Any) -> dict[str, Any] | None:
    try:
        fact = envelope.decode(record.value)
    except envelope.DecodeError:
        return None  # the live loop parked it too
    if topics.BY_SOURCE.get(fact.source) != record.topic:
        return None
    return store.fact_row(Delivery(fact, record.topic, record.partition, record.offset))


async def digests(conn: AsyncConnection, end_offsets: dict[str, int]) -> dict[str, str]:
    """Every appeal's digest (the benchmark times this pass; replays stream it instead)."""
    return {
        str(subject): domain.digest(domain.timeline(facts))
        async for subject, facts in store.facts_by_appeal(conn, end_offsets)
    }
