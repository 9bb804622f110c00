"""The baseline for intake's POST: a bare FastAPI endpoint doing one PostgreSQL insert and
commit, on the same engine settings, with nothing else (no auth, no events, no outbox)."""

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Column, MetaData, Table, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import create_async_engine

metadata = MetaData()
items = Table(
    "bench_items",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("body", JSONB, nullable=False),
)


def create_app() -> FastAPI:
    engine = create_async_engine(os.environ["HOTLINE_DATABASE_URL"], pool_size=10)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        yield
        await engine.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.post("/items", status_code=201)
    async def create(body: dict[str, Any]) -> dict[str, str]:
        item_id = uuid.uuid4()
        async with engine.begin() as conn:
            await conn.execute(items.insert().values(id=item_id, body=body))
        return {"id": str(item_id)}

    @app.get("/readyz")
    async def ready() -> dict[str, str]:
        return {"status": "ready"}

    return app
