"""A stream's hash chain as `shared.chain` checks it: from loaded facts, or from the rows a
PostgreSQL store holds (the stored `hash` column, which loading recomputes from the body)."""

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared import chain, envelope
from shared.runtime import schema


def links(stream: Sequence[envelope.Recorded]) -> list[chain.Link]:
    return [chain.Link(r.version, r.prev_hash, r.hash, r.body) for r in stream]


async def stored_problems(conn: AsyncConnection, stream_id: UUID) -> list[str]:
    """What `shared.chain.problems` finds in the stream's rows as stored."""
    events = schema.events.c
    rows = await conn.execute(
        select(events.version, events.prev_hash, events.hash, events.body)
        .where(events.stream_id == stream_id)
        .order_by(events.version)
    )
    return chain.problems(
        [chain.Link(row.version, row.prev_hash, row.hash, row.body.encode()) for row in rows]
    )
