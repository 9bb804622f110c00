"""Rebuild the audit projection from offset 0 into a fresh schema, then compare it with the
live one, which keeps serving meanwhile. Both are cut at the same end offsets (taken when
the replay starts), so a live projection that has read further still compares equal."""

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError
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
            rows = await _rows(
                engine,
                [r for tp, records in batches.items() for r in records if r.offset < ends[tp]],
            )
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


async def _rows(engine: AsyncEngine, records: list[Any]) -> list[dict[str, Any]]:
    """The fact rows of the records, in order, each record's bytes parsed once.

    Every field comes from the hashed bytes. A fact the live store holds with the same
    hash passed the full decode (its event's every field, the upcasters) when live audit
    took it, and these are the very bytes: its envelope is enough. Any other record gets
    the full decode, and is left out where the live loop would have parked it.
    """
    wires = [_wire(record.value) for record in records]
    async with engine.connect() as conn:
        held = await store.hashes_held(conn, [wire.id for wire in wires if wire is not None])
    rows = []
    for record, wire in zip(records, wires, strict=True):
        if wire is None:
            continue  # not even an envelope: the live loop parked it too
        hash_ = envelope.digest(record.value)
        if held.get(wire.id) == hash_ and topics.BY_SOURCE.get(wire.source) == record.topic:
            rows.append(_envelope_row(wire, hash_, record))
        elif (row := _decoded_row(record, wire)) is not None:
            rows.append(row)
    return rows


def _wire(body: bytes) -> envelope.WireEnvelope | None:
    try:
        return envelope.WireEnvelope.model_validate_json(body)
    except ValidationError:
        return None


def _envelope_row(wire: envelope.WireEnvelope, hash_: str, record: Any) -> dict[str, Any]:
    return {
        "event_id": wire.id,
        "source": wire.source,
        "type": wire.type,
        "subject": wire.subject,
        "version": wire.version,
        "time": datetime.fromisoformat(wire.time).astimezone(UTC),
        "actor": wire.actor,
        "causation_id": wire.causation_id,
        "hash": hash_,
        "prev_hash": wire.prev_hash,
        "body": record.value.decode(),
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
    }


def _decoded_row(record: Any, wire: envelope.WireEnvelope) -> dict[str, Any] | None:
    try:
        fact = envelope.decode(record.value, wire)
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
