"""Checkpoints: how many facts are settled, their leaf hashes in recorded order, and the
roots published over them."""

from typing import Any
from uuid import UUID

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from audit_service.store.tables import checkpoints, facts


async def settled_size(conn: AsyncConnection) -> int:
    """How many facts are final in seq order: no transaction still inserting can later fill
    a gap below this. SHARE mode waits for every ingesting transaction (they hold ROW
    EXCLUSIVE) and holds new ones off only until this transaction commits."""
    await conn.execute(text("LOCK TABLE public.facts IN SHARE MODE"))
    return int(await conn.scalar(select(func.count()).select_from(facts)) or 0)


async def leaf_hashes(conn: AsyncConnection, size: int) -> list[str]:
    rows = await conn.stream(select(facts.c.hash).order_by(facts.c.seq).limit(size))
    return [row.hash async for row in rows]


async def position(conn: AsyncConnection, event_id: UUID) -> tuple[int, str] | None:
    """A fact's leaf index (0-based, in seq order) and hash."""
    found = (
        await conn.execute(select(facts.c.seq, facts.c.hash).where(facts.c.event_id == event_id))
    ).one_or_none()
    if found is None:
        return None
    before = await conn.scalar(
        select(func.count()).select_from(facts).where(facts.c.seq < found.seq)
    )
    return int(before or 0), found.hash


async def save_checkpoint(conn: AsyncConnection, size: int, root: str) -> None:
    await conn.execute(
        insert(checkpoints)
        .values(size=size, root=root)
        .on_conflict_do_nothing(index_elements=["size"])
    )


async def list_checkpoints(
    conn: AsyncConnection, *, before: int | None = None, limit: int
) -> list[dict[str, Any]]:
    """Newest first; `before` is the size of the last checkpoint already shown."""
    query = select(checkpoints).order_by(checkpoints.c.size.desc()).limit(limit)
    if before is not None:
        query = query.where(checkpoints.c.size < before)
    return [dict(r._mapping) for r in await conn.execute(query)]


async def get_checkpoint(conn: AsyncConnection, size: int | None) -> dict[str, Any] | None:
    query = select(checkpoints)
    query = (
        query.where(checkpoints.c.size == size)
        if size is not None
        else query.order_by(checkpoints.c.size.desc()).limit(1)
    )
    row = (await conn.execute(query)).one_or_none()
    return None if row is None else dict(row._mapping)
