"""A replay: the log read from offset 0 and set against the live projection, which keeps
serving meanwhile. Both are cut at the same end offsets (taken when the replay starts), so
a live projection that has read further still compares equal.

First the live store is checked against the log in place (in_place.py); where it holds the
log's facts, row for row, nothing needs copying and the replay is "equal". Otherwise the
projection is rebuilt into a fresh schema and compared with the live one, appeal by appeal
("different", with what differs), and the owner may switch the live projection over to it
(switch_over.py)."""

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy.ext import asyncio as sa_asyncio
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import NullPool

from audit_service import comparison, domain, in_place, live_checks, log_reader, store
from audit_service.domain import wire
from shared import topics
from shared.runtime import kafka

log = logging.getLogger("hotline.audit.replay")
CATCH_UP_SECONDS = 60.0  # how long a replay gives the live loop to reach its end offsets


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
    live_group: str | None = None,
) -> None:
    """Run the replay recorded by `start`. With `live_group` (audit's own consumer group),
    first give the live loop a while to record what the log held when the replay started."""
    try:
        if live_group is not None and not await live_caught_up(bootstrap, live_group, end_offsets):
            log.info("the live store is behind the log: it will differ at its tail")
        checked = await checked_in_place(engine, bootstrap, end_offsets, replay_id)
        if checked is not None:
            read, report = checked
        else:
            read = await rebuild(engine, bootstrap, schema_name, end_offsets, replay_id)
            report = await comparison.compare(engine, schema_name, end_offsets)
        report["rebuilt"] = checked is None
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


async def run_apart(database_url: str, bootstrap: str, **replay: Any) -> None:
    """`run` on connections of its own, closed when it ends: a replay holds several for its
    whole run (one snapshot read side by side), which the service's pool, sized for its
    requests, must not have to give up."""
    engine = sa_asyncio.create_async_engine(database_url, poolclass=NullPool, hide_parameters=True)
    try:
        await run(engine, bootstrap, **replay)
    finally:
        await engine.dispose()


async def live_caught_up(
    bootstrap: str,
    group: str,
    end_offsets: dict[str, int],
    *,
    seconds: float = CATCH_UP_SECONDS,
    poll_seconds: float = 0.5,
) -> bool:
    """Whether the live loop's group has committed up to the end offsets, waiting up to
    `seconds` for it: a live store still catching up differs from the log at its tail, and
    the check in place would send the replay to a rebuild for nothing."""
    deadline = time.monotonic() + seconds
    while True:
        committed = await kafka.committed(bootstrap, group)
        if all(committed.get(key, -1) >= end for key, end in end_offsets.items() if end > 0):
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(poll_seconds)


async def checked_in_place(
    engine: AsyncEngine, bootstrap: str, end_offsets: dict[str, int], replay_id: int
) -> tuple[int, dict[str, Any]] | None:
    """The facts read and the report, if the live store proves to hold the log's facts at
    their places, every row passing its check: nothing is rebuilt then.

    The pass over the log (in_place.py) and the checks of every row and appeal
    (live_checks.py) run side by side on one snapshot of the live store. Where those checks
    cannot vouch for a row (one recorded before row seals, say), the comparison reads every
    row back from its bytes instead (comparison.compare_in_place)."""
    async with store.one_snapshot(engine, 4) as (log_side, *checks_side):
        checks = asyncio.create_task(live_checks.report(checks_side, end_offsets))
        try:
            held = await in_place.holds_log(log_side, engine, bootstrap, end_offsets, replay_id)
            checked = None if held is None else await checks
        finally:
            if not checks.done():  # the log differs: a rebuild follows, not these checks
                checks.cancel()
                await asyncio.gather(checks, return_exceptions=True)
    if held is None:
        return None
    if checked is not None and checked[0] == held.rows:
        return held.facts, {**checked[1], "rows_checked_by": "row seals"}
    log.info("live rows checked by their bytes", extra={"replay_id": replay_id})
    report = await comparison.compare_in_place(engine, end_offsets, rows=held.rows)
    return None if report is None else (held.facts, {**report, "rows_checked_by": "bytes"})


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
    async with engine.begin() as conn:
        await store.begin_bulk_load(conn, schema_name)
    read = 0
    writing: asyncio.Task[None] | None = None
    async with log_reader.reading(bootstrap, end_offsets) as batches:
        async for batch in batches:
            read_now = [
                (record, row)
                for record in batch
                if (row := log_reader.fact_row(record)) is not None
            ]
            rows = await _valid(engine, read_now)
            if writing is not None:
                await writing
            writing = asyncio.create_task(_write(engine, schema_name, rows, replay_id, read))
            read += len(rows)
    if writing is not None:
        await writing
    async with engine.begin() as conn:
        await store.end_bulk_load(conn, schema_name)
    return read


async def _write(
    engine: AsyncEngine, schema_name: str, rows: list[wire.Columns], replay_id: int, before: int
) -> None:
    async with engine.begin() as conn:
        await store.copy_facts(conn, schema_name, rows, first_seq=before + 1)
        await store.update_replay(conn, replay_id, facts_read=before + len(rows))


async def _valid(engine: AsyncEngine, read: list[tuple[Any, wire.Columns]]) -> list[wire.Columns]:
    """The rows whose facts decode, the model built only where the live store does not hold
    the same bytes."""
    async with engine.connect() as conn:
        held = await store.live_places(conn, [row[0] for _, row in read])
    hashes = {event_id: place[3] for event_id, place in held.items()}
    return [
        row
        for record, row in read
        if hashes.get(row[0]) == row[8] or log_reader.decodes(record.value)
    ]


async def digests(conn: AsyncConnection, end_offsets: dict[str, int]) -> dict[str, str]:
    """Every appeal's digest (the benchmark times this pass; replays stream it instead)."""
    return {
        str(subject): domain.digest(domain.timeline(facts))
        async for subject, facts in store.facts_by_appeal(conn, end_offsets)
    }
