"""Replay jobs, and the fresh schema each rebuilds the projection into."""

from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from audit_service.store.tables import projection, replays


async def create_projection_schema(conn: AsyncConnection, schema_name: str) -> None:
    await conn.execute(text(f'CREATE SCHEMA "{schema_name}"'))
    await conn.run_sync(
        lambda sync: projection.create_all(
            sync.execution_options(schema_translate_map={None: schema_name})
        )
    )


async def new_replay(conn: AsyncConnection, end_offsets: dict[str, int]) -> tuple[int, str]:
    replay_id = await conn.scalar(
        replays.insert()
        .values(schema_name="pending", status="running", end_offsets=end_offsets)
        .returning(replays.c.id)
    )
    assert replay_id is not None
    schema_name = f"replay_{replay_id}"
    await conn.execute(
        update(replays).where(replays.c.id == replay_id).values(schema_name=schema_name)
    )
    return int(replay_id), schema_name


async def update_replay(conn: AsyncConnection, replay_id: int, **values: Any) -> None:
    await conn.execute(update(replays).where(replays.c.id == replay_id).values(**values))


async def get_replay(conn: AsyncConnection, replay_id: int) -> dict[str, Any] | None:
    row = (await conn.execute(select(replays).where(replays.c.id == replay_id))).one_or_none()
    return None if row is None else dict(row._mapping)
