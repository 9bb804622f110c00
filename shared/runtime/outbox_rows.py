"""The relay's statements on the events table, which is the outbox: claim the unpublished
rows in id order, mark them published, and count what waits (for metrics)."""

from collections.abc import Sequence

import asyncpg
from sqlalchemy import func, select
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


# Claim and mark as prepared statements on the relay's lock session (asyncpg): the same two
# texts for any batch (an IN list made a statement per batch size).
_CLAIM = (
    "SELECT id, stream_id, body, traceparent FROM events WHERE published_at IS NULL"
    " ORDER BY id LIMIT $1 FOR UPDATE"
)
# The clock at the mark, not the transaction's start: always after the rows committed, so a
# mark before `recorded_at` can only be an edit (shared/runtime/selfcheck.py).
_MARK = "UPDATE events SET published_at = clock_timestamp() WHERE id = ANY($1::bigint[])"


async def claim_unpublished(driver: asyncpg.Connection, limit: int) -> list[asyncpg.Record]:
    return list(await driver.fetch(_CLAIM, limit))


async def mark_published(driver: asyncpg.Connection, ids: Sequence[int]) -> None:
    await driver.execute(_MARK, list(ids))
