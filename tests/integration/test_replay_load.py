"""A replay's bulk load (store.begin_bulk_load, copy_facts, end_bulk_load) keeps a fact
published twice once, the first read, and leaves the table as `create_projection_schema`
made it, with its unique constraints and indexes, so the next replay's schema is made whole
too. Without the bulk load, copy_facts skips a fact already present."""

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from audit_service import comparison, store
from shared import topics
from tests.integration.test_tamper import _columns, _deliveries, audit

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
        assert len(made[1]) == 5  # primary key, seq, subject, time, place
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
