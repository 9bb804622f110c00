"""The front office's emergency queue: open appeals whose text named a danger to life or
property (the danger keywords the rules matched at filing, kept in `classification`), from
every channel, oldest first."""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select

from intake_service.store.tables import appeals
from shared.runtime.eventstore import Tx

# The rules record the danger words they matched on every filing (empty when none).
_DANGER = func.coalesce(func.jsonb_array_length(appeals.c.classification["danger_keywords"]), 0)


async def emergency_queue(
    tx: Tx, *, after: tuple[datetime, UUID] | None, limit: int
) -> list[dict[str, Any]]:
    """Oldest first, keyset-paginated on (received_at, id); closed appeals leave the queue."""
    query = (
        select(appeals)
        .where(_DANGER > 0, appeals.c.status != "closed")
        .order_by(appeals.c.received_at, appeals.c.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(
            func.row(appeals.c.received_at, appeals.c.id) > func.row(after[0], after[1])
        )
    return [dict(row._mapping) for row in await tx.conn.execute(query)]
