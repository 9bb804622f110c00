"""Connections lent to the Database's transactions and reads, each with its asyncpg driver.

A checkout and return through SQLAlchemy's pool (its events, the connection's isolation
level set and reset) cost about 130 µs of CPU, several times a statement's round trip, and a
waiting GET, a command and a consume batch each take one. So up to `keep` connections stay
here between uses (`Database(keep=...)`; the services keep half their pool, leaving the rest
to what takes the engine's connections directly). One goes back to the pool instead when
its block raised, it was invalidated or it is still in a transaction; `close` returns them
all. Kept connections count as idle in the pool's metrics (shared.runtime.poolmetrics).
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


class Kept:
    def __init__(self, engine: AsyncEngine, keep: int) -> None:
        self._engine = engine
        self._keep = keep
        self._idle: list[tuple[AsyncConnection, Any]] = []

    @property
    def count(self) -> int:
        return len(self._idle)

    @asynccontextmanager
    async def lend(self) -> AsyncIterator[tuple[AsyncConnection, Any]]:
        """A connection and its asyncpg driver, SQLAlchemy told not to begin a transaction of
        its own (its driver adapter would, at its first statement, so a prebuilt statement
        run first would otherwise run outside the caller's)."""
        pair = self._idle.pop() if self._idle else await self._checkout()
        try:
            yield pair
        except BaseException:
            await self._release(*pair, keep=False)
            raise
        await self._release(*pair, keep=True)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn, _ in idle:
            await conn.close()

    async def _checkout(self) -> tuple[AsyncConnection, Any]:
        conn = await self._engine.connect()
        try:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            return conn, (await conn.get_raw_connection()).driver_connection
        except BaseException:
            await conn.close()
            raise

    async def _release(self, conn: AsyncConnection, driver: Any, *, keep: bool) -> None:
        if driver.is_closed() and not conn.invalidated:
            # It died under the raw driver, so SQLAlchemy never saw it: its pool would lend
            # it out again.
            await conn.invalidate()
        if (
            keep
            and len(self._idle) < self._keep
            and not (conn.invalidated or conn.closed or driver.is_in_transaction())
        ):
            self._idle.append((conn, driver))
        else:
            await conn.close()
