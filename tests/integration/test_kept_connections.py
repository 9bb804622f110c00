"""A Database that keeps connections between its transactions (`Database(keep=...)`), on a
real PostgreSQL: a connection is kept only after a block that ended cleanly, never more than
`keep`, one that died is dropped after the one use that finds it dead, `close` hands them
all back to the pool, and the pool's gauges count them as idle."""

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from prometheus_client import REGISTRY, generate_latest
from sqlalchemy.ext.asyncio import create_async_engine

from intake_service.main import MIGRATIONS as INTAKE_MIGRATIONS
from shared.runtime import poolmetrics
from shared.runtime.database import Database
from tests.support import infra

pytestmark = pytest.mark.integration


@pytest.fixture
async def kept(servers: None) -> AsyncIterator[Database]:
    url = await infra.fresh_database("t_kept", INTAKE_MIGRATIONS)
    engine = create_async_engine(url, pool_size=5, max_overflow=0)
    database = Database(engine, keep=2)
    yield database
    await database.close()
    await engine.dispose()


async def _backend(database: Database) -> int:
    async with database.read() as tx:
        return int(await tx.driver.fetchval("SELECT pg_backend_pid()"))


def _checked_out(database: Database) -> int:
    return int(database.engine.sync_engine.pool.checkedout())  # type: ignore[attr-defined]


async def test_a_connection_is_kept_between_transactions_and_reads(kept: Database) -> None:
    async with kept.transaction() as tx:
        first = await tx.driver.fetchval("SELECT pg_backend_pid()")
    assert kept.kept == 1
    assert await _backend(kept) == first
    async with kept.transaction() as tx:
        assert await tx.driver.fetchval("SELECT pg_backend_pid()") == first
        assert kept.kept == 0  # lent out while in use
    assert kept.kept == 1


async def test_no_more_than_keep_stay_and_the_rest_go_back_to_the_pool(kept: Database) -> None:
    async def hold() -> None:
        async with kept.transaction() as tx:
            await tx.driver.execute("SELECT pg_sleep(0.05)")

    await asyncio.gather(*(hold() for _ in range(5)))  # five at once: the whole pool
    assert kept.kept == 2
    assert _checked_out(kept) == 2  # the other three are back in the pool
    await kept.close()
    assert kept.kept == 0
    assert _checked_out(kept) == 0


async def test_a_block_that_raises_gives_its_connection_back(kept: Database) -> None:
    async def refused() -> None:
        async with kept.transaction() as tx:
            await tx.driver.execute("SELECT 1")
            raise RuntimeError("the command refused")

    with pytest.raises(RuntimeError, match="the command refused"):
        await refused()
    assert kept.kept == 0
    assert _checked_out(kept) == 0  # back in the pool, which resets it on return


async def test_a_kept_connection_that_died_fails_one_use_and_is_dropped(
    kept: Database,
) -> None:
    victim = await _backend(kept)
    assert kept.kept == 1
    admin = await asyncpg.connect(infra.pg_url("postgres").replace("+asyncpg", ""))
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", victim)
    finally:
        await admin.close()
    await asyncio.sleep(0.2)
    with pytest.raises((asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError)):
        await _backend(kept)
    assert kept.kept == 0
    assert await _backend(kept) != victim  # a fresh one from the pool


async def test_kept_connections_count_as_idle_in_the_pool_metrics(kept: Database) -> None:
    await _backend(kept)
    poolmetrics.POOLS.track("kept-probe", kept)
    try:
        text = generate_latest(REGISTRY).decode()
    finally:
        poolmetrics.POOLS.forget("kept-probe", kept)
    assert _checked_out(kept) == 1  # out of SQLAlchemy's pool, but idle all the same
    assert 'hotline_db_pool_connections{service="kept-probe",state="checked_out"} 0.0' in text
    assert 'hotline_db_pool_connections{service="kept-probe",state="idle"} 1.0' in text
