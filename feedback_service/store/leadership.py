"""The departments' leadership channels: SQL only."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert

from feedback_service.store.tables import leadership_channels
from shared.runtime.eventstore import Tx


async def channel_url(tx: Tx, department: str) -> str | None:
    return await tx.conn.scalar(
        select(leadership_channels.c.url).where(leadership_channels.c.department == department)
    )


async def publish(
    tx: Tx, *, department: str, url: str, actor: str, now: datetime, secret: str
) -> None:
    values = {"url": url, "published_by": actor, "published_at": now, "secret": secret}
    stmt = insert(leadership_channels).values(department=department, **values)
    await tx.conn.execute(stmt.on_conflict_do_update(index_elements=["department"], set_=values))


async def remove(tx: Tx, department: str) -> bool:
    removed = await tx.conn.execute(
        delete(leadership_channels).where(leadership_channels.c.department == department)
    )
    return bool(removed.rowcount)


async def list_channels(tx: Tx, *, after: str | None, limit: int) -> list[dict[str, Any]]:
    query = select(leadership_channels).order_by(leadership_channels.c.department).limit(limit)
    if after is not None:
        query = query.where(leadership_channels.c.department > after)
    return [dict(r._mapping) for r in await tx.conn.execute(query)]


async def channels_now(tx: Tx, departments: Iterable[str]) -> dict[str, tuple[str, str]]:
    """Each of these departments' channel as it is now, (url, secret), where it has one."""
    wanted = sorted(set(departments))
    if not wanted:
        return {}
    c = leadership_channels.c
    rows = await tx.conn.execute(
        select(c.department, c.url, c.secret).where(c.department.in_(wanted), c.secret.is_not(None))
    )
    return {row.department: (row.url, row.secret) for row in rows}
