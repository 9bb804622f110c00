"""The relay's statements on the events table, which is the outbox: claim the unpublished
rows in id order, mark them published, and count what waits (for metrics)."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.runtime import schema


async def unpublished_stats(conn: AsyncConnection) -> tuple[int, float]:
    """Count of unpublished events and the oldest one's age in seconds (for metrics)."""
    row = (
        await conn.execute(
            select(
                func.count(),
                func.coalesce(
                    func.extract("epoch", func.now() - func.min(schema.events.c.recorded_at)), 0
                ),
            ).where(schema.events.c.published_at.is_(None))
        )
    ).one()
    return int(row[0]), float(row[1])


async def claim_unpublished(conn: AsyncConnection, limit: int) -> list[Any]:
    rows = await conn.execute(
        select(
            schema.events.c.id,
            schema.events.c.stream_id,
            schema.events.c.body,
            schema.events.c.traceparent,
        )
        .where(schema.events.c.published_at.is_(None))
        .order_by(schema.events.c.id)
        .limit(limit)
        .with_for_update()
    )
    return list(rows)


async def mark_published(conn: AsyncConnection, ids: Sequence[int]) -> None:
    # The clock at the mark, not the transaction's start: always after the rows committed,
    # so a mark before `recorded_at` can only be an edit (shared/runtime/selfcheck.py).
    await conn.execute(
        update(schema.events)
        .where(schema.events.c.id.in_(ids))
        .values(published_at=func.clock_timestamp())
    )
