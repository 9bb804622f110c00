"""Checkpoints: how many facts are settled, the signed roots published over them, and the
public keys they were signed with."""

from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from audit_service.store.tables import checkpoints, facts, signing_keys

_SIGNED = checkpoints.c.signature.is_not(None)  # earlier ones were never published


async def settled_seq(conn: AsyncConnection) -> int:
    """The seq up to which recorded order is final: no transaction still inserting can later
    fill a gap below it. SHARE mode waits for every ingesting transaction (they take ROW
    EXCLUSIVE before drawing their seq, store/facts.py) and holds new ones off only until
    this transaction commits."""
    await conn.execute(text("LOCK TABLE public.facts IN SHARE MODE"))
    return int(await conn.scalar(select(func.coalesce(func.max(facts.c.seq), 0))) or 0)


async def lock_checkpoints(conn: AsyncConnection) -> None:
    """One checkpoint at a time: two would sign two statements for one size."""
    await conn.execute(text("LOCK TABLE public.checkpoints IN EXCLUSIVE MODE"))


async def save_checkpoint(conn: AsyncConnection, row: dict[str, Any]) -> None:
    await conn.execute(insert(checkpoints).values(**row))


async def list_checkpoints(
    conn: AsyncConnection, *, before: int | None = None, limit: int
) -> list[dict[str, Any]]:
    """Newest first; `before` is the size of the last checkpoint already shown."""
    query = select(checkpoints).where(_SIGNED).order_by(checkpoints.c.size.desc()).limit(limit)
    if before is not None:
        query = query.where(checkpoints.c.size < before)
    return [dict(r._mapping) for r in await conn.execute(query)]


async def get_checkpoint(conn: AsyncConnection, size: int | None) -> dict[str, Any] | None:
    """The signed checkpoint of that size; the latest when size is None."""
    query = select(checkpoints).where(_SIGNED)
    query = (
        query.where(checkpoints.c.size == size)
        if size is not None
        else query.order_by(checkpoints.c.size.desc()).limit(1)
    )
    row = (await conn.execute(query)).one_or_none()
    return None if row is None else dict(row._mapping)


async def remember_key(conn: AsyncConnection, key_id: str, public_pem: str, seal: str) -> None:
    """Record the key checkpoints are signed with, sealed; a row of it recorded unsealed
    (before keys were sealed, or added by the runtime role) is sealed now."""
    stmt = insert(signing_keys).values(key_id=key_id, public_key=public_pem, seal=seal)
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["key_id"],
            set_={"seal": stmt.excluded.seal},
            where=signing_keys.c.seal.is_(None) & (signing_keys.c.public_key == public_pem),
        )
    )


async def known_keys(conn: AsyncConnection) -> list[dict[str, Any]]:
    query = select(signing_keys).order_by(signing_keys.c.first_used_at)
    return [dict(r._mapping) for r in await conn.execute(query)]
