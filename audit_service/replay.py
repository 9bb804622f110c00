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
from audit_service.domain import wire
from shared import envelope, events, topics
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
            await store.finish_replay(
                conn,
                replay_id,
                schema_name=schema_name,
                end_offsets=end_offsets,
                status=status,
                facts_read=read,
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

    Each fact's columns are read from its bytes in one pass (domain/wire.py). The event's
    model is built, as the live loop builds it, only for a fact the live store does not hold
    with the same hash (the SHA-256 of these very bytes): the live loop validated those bytes
    when it recorded them, under audit's seal, which the comparison checks. A fact that does
    not decode is left out, as the live loop parked it.

    The replay's table is loaded in bulk (store.begin_bulk_load: indexed once at
    the end) and numbers its facts in read order itself. Writing batch n (COPY, on the
    database's core) overlaps reading batch n+1 (on ours); one write is in flight at a time,
    so facts land in read order and the progress recorded counts only facts written.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        isolation_level="read_committed",
        # Small fetch buffers keep memory flat however long the log is (aiokafka prefetches
        # up to these); writing, not fetching, bounds a replay's speed, so none is lost.
        max_partition_fetch_bytes=256 << 10,
        fetch_max_bytes=4 << 20,
        **kafka.client_security(),
    )
    await consumer.start()
    try:
        async with engine.begin() as conn:
            await store.begin_bulk_load(conn, schema_name)
        ends = {_partition(key): end for key, end in end_offsets.items() if end > 0}
        consumer.assign(list(ends))
        await consumer.seek_to_beginning(*ends)
        remaining, read = set(ends), 0
        writing: asyncio.Task[None] | None = None
        while remaining:
            batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
            read_now = [
                (record, row)
                for tp, records in batches.items()
                for record in records
                if record.offset < ends[tp] and (row := _row(record)) is not None
            ]
            rows = await _valid(engine, read_now)
            if writing is not None:
                await writing
            writing = asyncio.create_task(_write(engine, schema_name, rows, replay_id, read))
            read += len(rows)
            remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
        if writing is not None:
            await writing
        async with engine.begin() as conn:
            await store.end_bulk_load(conn, schema_name)
        return read
    finally:
        await consumer.stop()


async def _write(
    engine: AsyncEngine, schema_name: str, rows: list[wire.Columns], replay_id: int, before: int
) -> None:
    async with engine.begin() as conn:
        await store.copy_facts(conn, schema_name, rows, first_seq=before + 1)
        await store.update_replay(conn, replay_id, facts_read=before + len(rows))


def _partition(key: str) -> TopicPartition:
    topic, _, partition = key.rpartition(":")
    return TopicPartition(topic, int(partition))


def _row(record: Any) -> wire.Columns | None:
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


async def _valid(engine: AsyncEngine, read: list[tuple[Any, wire.Columns]]) -> list[wire.Columns]:
    """The rows whose facts decode, the model built only where the live store does not hold
    the same bytes."""
    async with engine.connect() as conn:
        live = await store.live_hashes(conn, [row[0] for _, row in read])
    return [row for record, row in read if live.get(row[0]) == row[8] or _decodes(record.value)]


def _decodes(value: bytes) -> bool:
    try:
        envelope.check(value)
    except envelope.DecodeError:
        return False
    return True


async def digests(conn: AsyncConnection, end_offsets: dict[str, int]) -> dict[str, str]:
    """Every appeal's digest (the benchmark times this pass; replays stream it instead)."""
    return {
        str(subject): domain.digest(domain.timeline(facts))
        async for subject, facts in store.facts_by_appeal(conn, end_offsets)
    }
