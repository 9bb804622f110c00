"""The audit replay's figures: a whole replay beside a live store holding the log, against
plain aiokafka consumption of the same partitions just before it; apart, the pass over the
log alone and the pass followed by the comparison by bytes; a rebuild into an empty store
and beside the live store; and PostgreSQL's own floor for storing what a rebuild reads."""

import gc
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from audit_service import comparison, in_place, replay, store
from audit_service.main import MIGRATIONS as AUDIT_MIGRATIONS
from audit_service.store.facts import COPIED
from shared import topics
from shared.runtime import kafka
from tests.support import histories, infra

REPLAY_APPEALS = int(os.environ.get("BENCH_REPLAY_APPEALS", "40000"))  # x5 facts each
_COLUMNS = ", ".join(f'"{c}"' for c in COPIED)  # a fact's; PostgreSQL writes the rest


async def _plain_consume() -> tuple[int, float]:
    partitions = await kafka.partitions(infra.KAFKA, topics.ALL)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=infra.KAFKA, enable_auto_commit=False, max_partition_fetch_bytes=4 << 20
    )
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        started, read = time.perf_counter(), 0
        remaining = {tp for tp in partitions if ends[tp] > 0}
        while remaining:
            for records in (await consumer.getmany(timeout_ms=1000, max_records=5000)).values():
                read += len(records)
            remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
        return read, time.perf_counter() - started
    finally:
        await consumer.stop()


async def _timed(action: Callable[[], Awaitable[Any]]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = await action()
    return result, time.perf_counter() - started


async def bench_replay() -> dict[str, Any]:
    produced = await histories.produce(REPLAY_APPEALS)
    url = await infra.fresh_database("bench_audit", AUDIT_MIGRATIONS)
    engine = create_async_engine(url)
    # A replay runs in the audit service, whose start-up heap is frozen out of the
    # collector's sight (shared/runtime/app.py); here the imports' heap is as large, and
    # unfrozen every full collection walked it: 0.5-0.6 s of CPU per 100,000 facts replayed.
    gc.freeze()
    try:
        plain_read, plain_seconds = await _plain_consume()
        replay_id, schema_name, ends = await replay.start(engine, infra.KAFKA)
        rebuilt, rebuild_seconds = await _timed(
            lambda: replay.rebuild(engine, infra.KAFKA, schema_name, ends, replay_id)
        )
        async with engine.connect() as conn:
            scoped = await conn.execution_options(schema_translate_map={None: schema_name})
            _, digest_seconds = await _timed(lambda: replay.digests(scoped, ends))
        floor_seconds = await _database_floor(engine, schema_name)
        # Again beside a live store holding the same facts, as a replay usually runs: the
        # event models are then built only for facts live audit does not hold (replay.py).
        await _fill_live_store(infra.owner_url(url), schema_name)
        plain_again, plain_again_seconds = await _plain_consume()
        replay_id, schema_name, ends = await replay.start(engine, infra.KAFKA)
        beside, beside_seconds = await _timed(
            lambda: replay.rebuild(engine, infra.KAFKA, schema_name, ends, replay_id)
        )
        # A whole replay as it runs beside a live store holding the log's facts: the pass
        # over the log checked in place (in_place.py), every row and appeal checked beside
        # it (live_checks.py), nothing rebuilt. Then, apart: the pass alone, and the
        # comparison that reads every row back from its bytes, which a replay falls back to
        # for rows recorded without row seals.
        checked, whole_seconds = await _timed(
            lambda: replay.checked_in_place(engine, infra.KAFKA, ends, replay_id)
        )
        if checked is None or checked[0] != rebuilt:  # not the path measured: a bench defect
            raise RuntimeError(f"the replay in place held {checked} of {rebuilt} facts")
        held, pass_seconds = await _timed(lambda: _pass_alone(engine, ends, replay_id))
        report, compared_seconds = await _timed(
            lambda: comparison.compare_in_place(engine, ends, rows=held.rows)
        )
        if report is None or report["live_digest"] != checked[1]["live_digest"]:
            raise RuntimeError("the comparison and the checks in place disagree")
    finally:
        gc.unfreeze()
        await engine.dispose()
    replay_rate, plain_rate = rebuilt / whole_seconds, plain_again / plain_again_seconds
    rebuild_rate, first_plain_rate = rebuilt / rebuild_seconds, plain_read / plain_seconds
    beside_rate = beside / beside_seconds
    return {
        "facts_produced": produced,
        "facts_replayed": rebuilt,
        "replay_facts_per_s": round(replay_rate),
        "plain_consume_per_s": round(plain_rate),
        "ratio": round(replay_rate / plain_rate, 3),
        "pass_alone_ratio": round(rebuilt / pass_seconds / plain_rate, 3),
        "pass_and_comparison_ratio": round(
            rebuilt / (pass_seconds + compared_seconds) / plain_rate, 3
        ),
        "rebuild_facts_per_s": round(rebuild_rate),
        "rebuild_plain_consume_per_s": round(first_plain_rate),
        "rebuild_ratio": round(rebuild_rate / first_plain_rate, 3),
        "beside_live_facts_per_s": round(beside_rate),
        "beside_live_ratio": round(beside_rate / plain_rate, 3),
        "database_floor_facts_per_s": round(rebuilt / floor_seconds),
        "database_floor_ratio": round(rebuilt / floor_seconds / first_plain_rate, 3),
        "timeline_and_digest_seconds": round(digest_seconds, 1),
    }


async def _pass_alone(engine: AsyncEngine, ends: dict[str, int], replay_id: int) -> Any:
    async with store.one_snapshot(engine, 1) as (conn,):
        held = await in_place.holds_log(conn, engine, infra.KAFKA, ends, replay_id)
    if held is None:
        raise RuntimeError("the pass found the live store different")
    return held


async def _database_floor(engine: AsyncEngine, replayed: str) -> float:
    """Seconds PostgreSQL alone takes for a replay's writing: the replayed rows inserted
    again into a fresh projection table, server-side, and indexed at the end as a replay's
    are. No Kafka, no Python, no wire: what any replay that stores these rows pays here."""
    async with engine.begin() as conn:
        await store.create_projection_schema(conn, "floor")
        await store.begin_bulk_load(conn, "floor")
    started = time.perf_counter()
    async with engine.begin() as conn:
        await _copy_facts(conn, f'"{replayed}"', "floor", order="ORDER BY seq")
    async with engine.begin() as conn:
        await store.end_bulk_load(conn, "floor")
    return time.perf_counter() - started


async def _fill_live_store(owner_url: str, schema_name: str) -> None:
    """The live store given the replay's facts, as a switch-over would, then vacuumed as
    autovacuum leaves a store that has been live a while: its rows marked visible to all
    (so an index holding what a query needs answers it alone) and its statistics taken."""
    owner = create_async_engine(owner_url)
    try:
        async with owner.begin() as conn:
            await _copy_facts(conn, f'"{schema_name}"', "public")
        async with owner.connect() as conn:
            autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM (ANALYZE) public.facts"))
    finally:
        await owner.dispose()


async def _copy_facts(conn: AsyncConnection, source: str, target: str, order: str = "") -> None:
    """Every fact of schema `source` inserted into schema `target`'s, server-side."""
    await conn.execute(
        text(
            f"INSERT INTO {target}.facts ({_COLUMNS}) SELECT {_COLUMNS} FROM {source}.facts {order}"
        )
    )
