"""What a test editing audit's stored facts behind its back does first, as a tamperer who
owns the database would: drop the constraint that holds each row's bytes to its hash."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


async def unchecked(conn: AsyncConnection) -> None:
    await conn.execute(text("ALTER TABLE facts DROP CONSTRAINT IF EXISTS ck_facts_body_hash"))
