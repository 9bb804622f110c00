"""Where a service's transactions and reads come from: one `Tx` per PostgreSQL transaction
(shared.runtime.eventstore), on connections the Database keeps between them
(shared.runtime.connections)."""

from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.runtime import connections, tracing
from shared.runtime.eventstore import Tx

T = TypeVar("T")
# A command's work in the transaction it is given: facts, read model, idempotency record.
Action = Callable[[Tx], Coroutine[Any, Any, T]]


class Transactions(Protocol):
    """How a route runs its command's action in a transaction: `Database` (one each) or
    `commit_groups.CommitGroups` (shared with the commands asked at the same time)."""

    async def run(self, action: Action[T]) -> T: ...


class Database:
    """Transactions and reads; `keep` connections stay between them (runtime.connections)."""

    def __init__(self, engine: AsyncEngine, *, keep: int = 0) -> None:
        self.engine = engine
        self._connections = connections.Kept(engine, keep)

    @property
    def kept(self) -> int:
        return self._connections.count

    @asynccontextmanager
    async def transaction(self, kind: type[Tx] = Tx) -> AsyncIterator[Tx]:
        """One transaction, committed unless the block raises. asyncpg begins and ends it on
        the connection both `Tx.conn` and `Tx.driver` use."""
        async with self._connection() as (conn, driver):
            try:
                async with driver.transaction():
                    tx = kind(conn, driver)
                    yield tx
                    await tx.flush()  # before the commit; skipped when the body raised
            finally:
                if driver.is_in_transaction():  # cancelled mid-commit: never pooled open
                    await conn.invalidate()

    async def run(self, action: Action[T]) -> T:
        """`action` in a transaction of its own (`Transactions`)."""
        async with self.transaction() as tx:
            return await action(tx)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        """Reads without BEGIN and COMMIT, two of a one-statement read's three round trips.
        Each statement sees what was committed when it began, as each does in a READ
        COMMITTED transaction (the default), so a read gains nothing from one. For reads
        only: a write here would commit at its statement."""
        async with self._connection() as (conn, driver):
            yield Tx(conn, driver)

    async def close(self) -> None:
        """Return the kept connections to the pool (before the engine is disposed)."""
        await self._connections.close()

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[tuple[AsyncConnection, Any]]:
        with tracing.transaction_span():
            async with self._connections.lend() as pair:
                yield pair
