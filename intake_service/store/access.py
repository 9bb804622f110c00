"""The access log's SQL: who read which appeal's citizen data or text, and when."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select

from intake_service.store.tables import access_log
from shared.runtime.eventstore import Tx


async def record(
    tx: Tx, *, principal: str, action: str, appeal_ids: Iterable[UUID], now: datetime
) -> None:
    """In the reading transaction: if the record cannot be written, nothing is shown."""
    rows = [
        {"principal": principal, "action": action, "appeal_id": appeal_id, "at": now}
        for appeal_id in appeal_ids
    ]
    if rows:
        await tx.conn.execute(access_log.insert(), rows)


async def list_access(
    tx: Tx, *, appeal_id: UUID | None, after: int, limit: int
) -> list[dict[str, Any]]:
    query = select(access_log).where(access_log.c.id > after).order_by(access_log.c.id)
    if appeal_id is not None:
        query = query.where(access_log.c.appeal_id == appeal_id)
    return [dict(r._mapping) for r in await tx.conn.execute(query.limit(limit))]
