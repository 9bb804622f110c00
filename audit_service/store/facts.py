"""The facts audit recorded: written on ingest (one at a time) and by a replay (in bulk),
read one appeal, one stream or one department's appeals at a time, or all of them streamed."""

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from audit_service.domain import Fact
from audit_service.store.tables import facts
from shared.runtime.consumer import Delivery


def fact_row(delivery: Delivery) -> dict[str, Any]:
    event = delivery.fact.event
    return {
        "event_id": event.id,
        "source": delivery.fact.source,
        "type": event.type,
        "subject": event.subject,
        "version": delivery.fact.version,
        "time": event.time,
        "actor": event.actor,
        "causation_id": event.causation_id,
        "hash": delivery.fact.hash,
        "prev_hash": delivery.fact.prev_hash,
        "body": delivery.fact.body.decode(),
        "topic": delivery.topic,
        "partition": delivery.partition,
        "offset": delivery.offset,
    }


async def add_facts(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(
            insert(facts).on_conflict_do_nothing(index_elements=["event_id"]), list(rows)
        )


_COPIED = [c.name for c in facts.columns if c.name not in ("ingested_at", "seq")]


async def copy_facts(
    conn: AsyncConnection, schema_name: str, rows: Sequence[dict[str, Any]]
) -> None:
    """Bulk insert for replays: COPY into a session-local staging table, then one INSERT that
    skips facts already present (a relay may have published one twice)."""
    if not rows:
        return
    columns = ", ".join(f'"{c}"' for c in _COPIED)
    await conn.execute(
        text(
            "CREATE TEMP TABLE IF NOT EXISTS facts_staging "
            "(LIKE public.facts INCLUDING DEFAULTS INCLUDING IDENTITY) "
            "ON COMMIT DELETE ROWS"
        )
    )
    raw = (await conn.get_raw_connection()).driver_connection
    assert raw is not None
    await raw.copy_records_to_table(
        "facts_staging", columns=_COPIED, records=[tuple(r[c] for c in _COPIED) for r in rows]
    )
    await conn.execute(
        text(
            f'INSERT INTO "{schema_name}".facts ({columns}) SELECT {columns} FROM facts_staging '
            "ON CONFLICT (event_id) DO NOTHING"
        )
    )


def _to_fact(row: Any) -> Fact:
    return Fact(
        row.event_id,
        row.source,
        row.type,
        row.subject,
        row.version,
        row.time,
        row.actor,
        row.causation_id,
        row.hash,
        row.prev_hash,
        row.body,
    )


def to_fact(row: dict[str, Any]) -> Fact:
    """A fact from a row as fact_row() builds it."""
    return Fact(*(row[name] for name in Fact.__slots__))


async def appeal_facts(
    conn: AsyncConnection, appeal_id: UUID, known_at: datetime | None = None
) -> list[tuple[Fact, datetime]]:
    query = select(facts).where(facts.c.subject == appeal_id)
    if known_at is not None:
        query = query.where(facts.c.ingested_at <= known_at)
    rows = await conn.execute(query)
    return [(_to_fact(row), row.ingested_at) for row in rows]


GIVEN = ("appeal.assigned", "appeal.redispatched", "appeal.redo_ordered")


async def appeals_given_to(conn: AsyncConnection, department: str, by: datetime) -> list[UUID]:
    """Appeals whose facts recorded by `by` gave them to `department` at least once."""
    rows = await conn.execute(
        select(facts.c.subject)
        .where(
            facts.c.type.in_(GIVEN),
            facts.c.ingested_at <= by,
            func.cast(facts.c.body, JSONB)["data"]["department"].astext == department,
        )
        .distinct()
    )
    return [row.subject for row in rows]


async def facts_by_appeal(
    conn: AsyncConnection,
    end_offsets: dict[str, int] | None,
    *,
    active_between: tuple[datetime, datetime] | None = None,
) -> AsyncIterator[tuple[UUID, list[Fact]]]:
    """Every appeal's facts, one appeal at a time (streamed: memory stays bounded).

    With `end_offsets` ("topic:partition" → end), only facts read below those positions.
    With `active_between`, only appeals with a fact that happened in that interval (all of
    their facts): what a month's measures need, without reading all of history.
    """
    query = select(facts)
    if active_between is not None:
        start, end = active_between
        active = select(facts.c.subject).where(facts.c.time >= start, facts.c.time < end)
        query = query.where(facts.c.subject.in_(active))
    result = await conn.stream(query.order_by(facts.c.subject, facts.c.event_id))
    current: UUID | None = None
    batch: list[Fact] = []
    async for row in result:
        if end_offsets is not None and row.offset >= end_offsets.get(
            f"{row.topic}:{row.partition}", 0
        ):
            continue
        if row.subject != current and batch:
            assert current is not None
            yield current, batch
            batch = []
        current = row.subject
        batch.append(_to_fact(row))
    if batch and current is not None:
        yield current, batch


async def stream_facts(conn: AsyncConnection, subject: UUID, source: str) -> list[Fact]:
    rows = await conn.execute(
        select(facts).where(facts.c.subject == subject, facts.c.source == source)
    )
    return [_to_fact(row) for row in rows]


async def fact_hash(conn: AsyncConnection, event_id: UUID) -> str | None:
    hash_: str | None = await conn.scalar(select(facts.c.hash).where(facts.c.event_id == event_id))
    return hash_


async def appeals_of(conn: AsyncConnection, event_ids: Sequence[UUID]) -> dict[UUID, UUID]:
    """Which appeal each fact is about."""
    if not event_ids:
        return {}
    rows = await conn.execute(
        select(facts.c.event_id, facts.c.subject).where(facts.c.event_id.in_(list(event_ids)))
    )
    return {row.event_id: row.subject for row in rows}


async def recorded_facts(engine: AsyncEngine, batch: int = 1000) -> AsyncIterator[Any]:
    """Every recorded fact's row in recorded order, from a server-side cursor (exports)."""
    async with engine.connect() as conn:
        result = await conn.stream(
            select(facts).order_by(facts.c.seq).execution_options(yield_per=batch)
        )
        async for row in result:
            yield row


async def count_facts(conn: AsyncConnection) -> int:
    return int(await conn.scalar(select(func.count()).select_from(facts)) or 0)
