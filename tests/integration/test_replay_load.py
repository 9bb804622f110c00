"""A replay's bulk load (store.begin_bulk_load, copy_facts, end_bulk_load) keeps a fact
published twice once, the first read, and leaves the table as `create_projection_schema`
made it, with its unique constraints and indexes, so the next replay's schema is made whole
too. Without the bulk load, copy_facts skips a fact already present. A replay read in two
processes writes the rows one process writes."""

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from audit_service import comparison, replay, sealing, store
from audit_service.domain import records
from audit_service.switch_over import FROM_LOG
from shared import topics
from tests.integration.test_tamper import _columns, _deliveries, audit
from tests.support import histories, infra

pytestmark = pytest.mark.integration
__all__ = ["audit"]


async def _shape(conn: AsyncConnection, schema_name: str) -> tuple[str, list[str]]:
    persistence = await conn.scalar(
        text(
            "SELECT relpersistence::text FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :schema AND c.relname = 'facts'"
        ),
        {"schema": schema_name},
    )
    indexes = await conn.scalars(
        text("SELECT indexname FROM pg_indexes WHERE schemaname = :schema ORDER BY indexname"),
        {"schema": schema_name},
    )
    return str(persistence), list(indexes)


async def test_a_fact_published_twice_is_loaded_once(
    audit: tuple[AsyncEngine, AsyncEngine],
) -> None:
    runtime, _ = audit
    appeals = _deliveries(3)
    rows = _columns(appeals)
    twice = rows[1]
    ends = {f"{t}:0": 10**6 for t in topics.ALL}
    async with runtime.begin() as conn:
        await store.add_facts(conn, [store.fact_row(d) for read in appeals for d in read])
        _, schema_name = await store.new_replay(conn, ends)
        await store.create_projection_schema(conn, schema_name)
        made = await _shape(conn, schema_name)
        await store.begin_bulk_load(conn, schema_name)
        assert await _shape(conn, schema_name) == ("p", [])
        await store.copy_facts(conn, schema_name, rows[:5], first_seq=1)
        await store.copy_facts(conn, schema_name, [twice, *rows[5:]], first_seq=6)
        await store.end_bulk_load(conn, schema_name)
        assert await _shape(conn, schema_name) == made == ("p", made[1])
        assert len(made[1]) == 4  # primary key, seq, subject, time
        loaded = await conn.execute(
            text(f'SELECT event_id::text, seq FROM "{schema_name}".facts ORDER BY seq')
        )
        seqs = [(str(row.event_id), int(row.seq)) for row in loaded]
        assert len(seqs) == len(rows)  # each fact once
        assert (twice[0], 2) in seqs  # the first read kept

        # Without a bulk load the table keeps its constraints, and a fact present is skipped.
        _, other = await store.new_replay(conn, ends)
        await store.create_projection_schema(conn, other)
        assert await _shape(conn, other) == made
        await store.copy_facts(conn, other, rows, first_seq=1)
        await store.copy_facts(conn, other, [twice], first_seq=len(rows) + 1)
        count = await conn.scalar(text(f'SELECT count(*) FROM "{other}".facts'))
        assert count == len(rows)

    report = await comparison.compare(runtime, schema_name, ends)
    assert report["equal"] is True, report
    assert report["broken_chains"] == 0


async def _loaded(conn: AsyncConnection, schema_name: str) -> list[dict[str, Any]]:
    rows = await conn.execute(text(f'SELECT * FROM "{schema_name}".facts ORDER BY seq'))
    return [dict(row._mapping) for row in rows]


async def test_a_replay_in_two_processes_writes_what_one_writes(
    audit: tuple[AsyncEngine, AsyncEngine],
) -> None:
    runtime, _ = audit
    await histories.produce(40)  # 200 facts, beside what other tests left on the topics
    one_id, one, ends = await replay.start(runtime, infra.KAFKA)
    two_id, two, same_ends = await replay.start(runtime, infra.KAFKA)
    assert same_ends == ends

    read_once = await replay.rebuild(runtime, infra.KAFKA, one, ends, one_id, processes=1)
    read_twice = await replay.rebuild(runtime, infra.KAFKA, two, ends, two_id, processes=2)

    assert read_once == read_twice >= 200
    async with runtime.connect() as conn:
        by_one, by_two = await _loaded(conn, one), await _loaded(conn, two)
        progress = await store.get_replay(conn, two_id)
    assert progress is not None
    assert progress["facts_read"] == read_twice
    assert len(by_two) == read_twice
    assert {r["seq"] % 2 for r in by_two} == {0, 1}  # both processes wrote their share
    assert {tuple(r[c] for c in FROM_LOG) for r in by_one} == {
        tuple(r[c] for c in FROM_LOG) for r in by_two
    }
    # Each process numbered its share in read order: per partition, seq follows the offset.
    for partition in {(r["topic"], r["partition"]) for r in by_two}:
        offsets = [r["offset"] for r in by_two if (r["topic"], r["partition"]) == partition]
        assert offsets == sorted(offsets)
    # Every row sealed as a fact audit recorded, by whichever process wrote it.
    key = sealing.key()
    assert [r["event_id"] for r in by_two if records.from_row(r, key).problems] == []
