"""Rebuild the audit projection from offset 0 into a fresh schema, then compare it with the
live one, which keeps serving meanwhile. Both are cut at the same end offsets (taken when
the replay starts), so a live projection that has read further still compares equal."""

import asyncio
import json
import logging
import sys
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


# Where the log is long enough to pay for starting them (a second or so each), a replay
# reads its partitions in this many processes at once, each decoding and writing its share:
# one Python process decodes at about a third of the rate aiokafka alone reads, so on two
# cores a second one gains more than PostgreSQL loses. Fewer records are read here.
PROCESSES = 2
_IN_PROCESS_BELOW = 10_000


async def rebuild(
    engine: AsyncEngine,
    bootstrap: str,
    schema_name: str,
    end_offsets: dict[str, int],
    replay_id: int,
    *,
    processes: int | None = None,
) -> int:
    """Read every partition from offset 0 to its end offset into the replay's schema,
    `processes` at once (by default PROCESSES where the log is long); returns the facts
    written.

    The replay's table is loaded in bulk (store.begin_bulk_load: indexed once at the end)
    and numbers its facts itself: each process its share of the partitions, in read order,
    with every `processes`th seq (`rebuild_part`). A fact a relay published twice is in one
    partition both times, so its first read keeps the lower seq.
    """
    async with engine.begin() as conn:
        await store.begin_bulk_load(conn, schema_name)
    ends = {key: end for key, end in end_offsets.items() if end > 0}
    if processes is None:
        processes = PROCESSES if sum(ends.values()) >= _IN_PROCESS_BELOW else 1
    if processes == 1:
        read = await rebuild_part(engine, bootstrap, schema_name, ends, replay_id, 0, 1)
    else:
        url = engine.url.render_as_string(hide_password=False)
        async with asyncio.TaskGroup() as parts:  # one failing stops the others
            started = [
                parts.create_task(
                    _in_process(url, bootstrap, schema_name, share, replay_id, n, processes)
                )
                for n, share in enumerate(_shares(ends, processes))
            ]
        read = sum(task.result() for task in started)
    async with engine.begin() as conn:
        await store.end_bulk_load(conn, schema_name)
    return read


def _shares(ends: dict[str, int], parts: int) -> list[dict[str, int]]:
    """The partitions dealt out in `parts` shares of about as many records each."""
    shares: list[dict[str, int]] = [{} for _ in range(parts)]
    for key, end in sorted(ends.items(), key=lambda item: -item[1]):
        min(shares, key=lambda share: sum(share.values()))[key] = end
    return shares


async def _in_process(
    url: str,
    bootstrap: str,
    schema_name: str,
    ends: dict[str, int],
    replay_id: int,
    part: int,
    parts: int,
) -> int:
    """`rebuild_part` in a process of its own (replay_part.py); the job, the database's
    credentials with it, goes through its standard input, never its command line."""
    job = {
        "url": url, "bootstrap": bootstrap, "schema_name": schema_name, "ends": ends,
        "replay_id": replay_id, "part": part, "parts": parts,
    }  # fmt: skip
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "audit_service.replay_part",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await child.communicate(json.dumps(job).encode())
    finally:
        if child.returncode is None:  # cancelled: the part stops with the replay
            child.kill()
            await child.wait()
    if child.returncode != 0:
        last = err.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"replay part {part} of {parts} failed: {last[0]}")
    return int(out.split()[-1])


async def rebuild_part(
    engine: AsyncEngine,
    bootstrap: str,
    schema_name: str,
    ends_by_key: dict[str, int],
    replay_id: int,
    part: int,
    parts: int,
) -> int:
    """Read these partitions from offset 0 to their end offsets into the replay's table.

    Each fact's columns are read from its bytes in one pass (domain/wire.py). The event's
    model is built, as the live loop builds it, only for a fact the live store does not hold
    with the same hash (the SHA-256 of these very bytes): the live loop validated those bytes
    when it recorded them, under audit's seal, which the comparison checks. A fact that does
    not decode is left out, as the live loop parked it.

    Its facts are numbered part + 1, part + 1 + parts, ... in read order. Writing batch n
    (COPY, on the database's core) overlaps reading batch n+1 (on ours); one write is in
    flight at a time, so facts land in read order and the progress recorded counts only
    facts written.
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
        ends = {_partition(key): end for key, end in ends_by_key.items()}
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
            first_seq = part + 1 + parts * read
            writing = asyncio.create_task(
                _write(engine, schema_name, rows, replay_id, first_seq, parts)
            )
            read += len(rows)
            remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
        if writing is not None:
            await writing
        return read
    finally:
        await consumer.stop()


async def _write(
    engine: AsyncEngine,
    schema_name: str,
    rows: list[wire.Columns],
    replay_id: int,
    first_seq: int,
    seq_step: int,
) -> None:
    async with engine.begin() as conn:
        await store.copy_facts(conn, schema_name, rows, first_seq=first_seq, seq_step=seq_step)
        await store.add_replay_progress(conn, replay_id, len(rows))


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
        envelope.decode(value)
    except envelope.DecodeError:
        return False
    return True


async def digests(conn: AsyncConnection, end_offsets: dict[str, int]) -> dict[str, str]:
    """Every appeal's digest (the benchmark times this pass; replays stream it instead)."""
    return {
        str(subject): domain.digest(domain.timeline(facts))
        async for subject, facts in store.facts_by_appeal(conn, end_offsets)
    }
