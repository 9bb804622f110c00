"""Replay switch-overs: the lock that keeps ingest out while one runs, the live rows set
against the rebuilt ones, and the append-only record of each."""

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any, Final
from uuid import UUID

from sqlalchemy import MetaData, Table, delete, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from audit_service.store.tables import facts, switch_over_rows, switch_overs

# pg_advisory_xact_lock's key for "the live fact store": ingest holds it shared for each
# fact, a switch-over exclusively. (The bytes of "audit-facts", trimmed to a bigint.)
INGEST_LOCK: Final = 0x61756469745F66


async def hold_ingest_lock(conn: AsyncConnection) -> None:
    """Ingest's share: many ingest transactions at once, none during a switch-over."""
    await conn.execute(text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": INGEST_LOCK})


async def take_switch_over_lock(conn: AsyncConnection) -> None:
    """Waits out every ingest transaction in flight and holds off new ones until commit."""
    await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": INGEST_LOCK})


def rebuilt_facts(schema_name: str) -> Table:
    return facts.to_metadata(MetaData(), schema=schema_name)


async def live_and_rebuilt(conn: AsyncConnection, schema_name: str) -> AsyncIterator[Any]:
    """Every fact on either side, live beside rebuilt by event id (None where one lacks it)."""
    rebuilt = rebuilt_facts(schema_name)
    live_columns = [c.label(f"live_{c.name}") for c in facts.c]
    rebuilt_columns = [c.label(f"rebuilt_{c.name}") for c in rebuilt.c]
    joined = facts.join(rebuilt, facts.c.event_id == rebuilt.c.event_id, full=True)
    result = await conn.stream(
        select(*live_columns, *rebuilt_columns)
        .select_from(joined)
        .execution_options(yield_per=1000)
    )
    async for row in result:
        yield row


async def rebuilt_rows(
    conn: AsyncConnection, schema_name: str, event_ids: Sequence[UUID]
) -> list[dict[str, Any]]:
    rebuilt = rebuilt_facts(schema_name)
    written = [c for c in rebuilt.columns if c.computed is None]  # PostgreSQL writes the rest
    rows = await conn.execute(select(*written).where(rebuilt.c.event_id.in_(list(event_ids))))
    return [dict(row._mapping) for row in rows]


async def remove_live(conn: AsyncConnection, event_ids: Sequence[UUID]) -> None:
    await conn.execute(delete(facts).where(facts.c.event_id.in_(list(event_ids))))


async def insert_live(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(facts.insert(), list(rows))


async def record_switch_over(
    conn: AsyncConnection, values: dict[str, Any], rows: Sequence[dict[str, Any]]
) -> int:
    switch_id = await conn.scalar(
        switch_overs.insert().values(**values).returning(switch_overs.c.id)
    )
    assert switch_id is not None
    if rows:
        await conn.execute(
            switch_over_rows.insert(), [{**row, "switch_over_id": switch_id} for row in rows]
        )
    return int(switch_id)


async def switched_over(conn: AsyncConnection, replay_id: int) -> bool:
    found = await conn.scalar(
        select(switch_overs.c.id).where(switch_overs.c.replay_id == replay_id)
    )
    return found is not None


async def list_switch_overs(
    conn: AsyncConnection, *, before: int | None, limit: int, rows_listed: int = 100
) -> list[dict[str, Any]]:
    """Newest first, each with its first `rows_listed` changed rows."""
    query = select(switch_overs).order_by(switch_overs.c.id.desc()).limit(limit)
    if before is not None:
        query = query.where(switch_overs.c.id < before)
    found = []
    for row in await conn.execute(query):
        changed = await conn.execute(
            select(switch_over_rows)
            .where(switch_over_rows.c.switch_over_id == row.id)
            .limit(rows_listed)
        )
        found.append({**row._mapping, "rows": [dict(c._mapping) for c in changed]})
    return found


async def repaired_at(
    conn: AsyncConnection, event_ids: Sequence[UUID], *, known_at: datetime | None = None
) -> dict[UUID, datetime]:
    """When a switch-over last replaced or re-added each of these facts from the log (up to
    `known_at`: a repair made later was not known then)."""
    if not event_ids:
        return {}
    query = (
        select(switch_over_rows.c.event_id, switch_overs.c.switched_at)
        .join(switch_overs, switch_overs.c.id == switch_over_rows.c.switch_over_id)
        .where(
            switch_over_rows.c.event_id.in_(list(event_ids)),
            switch_over_rows.c.change != "removed",
        )
        .order_by(switch_overs.c.switched_at)
    )
    if known_at is not None:
        query = query.where(switch_overs.c.switched_at <= known_at)
    rows = await conn.execute(query)
    return {row.event_id: row.switched_at for row in rows}
