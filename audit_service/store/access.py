"""The access log's SQL: who read or exported personal data, and when."""

from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from audit_service.store.tables import access_log


async def record(
    engine: AsyncEngine, *, principal: str, action: str, appeal_id: UUID | None
) -> None:
    """In its own transaction, before anything is shown: a read that is not logged does not
    happen (if this fails, the request fails)."""
    async with engine.begin() as conn:
        await conn.execute(
            access_log.insert().values(principal=principal, action=action, appeal_id=appeal_id)
        )


async def list_access(
    conn: AsyncConnection, *, appeal_id: UUID | None, after: int, limit: int
) -> list[dict[str, Any]]:
    query = select(access_log).where(access_log.c.id > after).order_by(access_log.c.id)
    if appeal_id is not None:
        query = query.where(access_log.c.appeal_id == appeal_id)
    return [dict(r._mapping) for r in await conn.execute(query.limit(limit))]
