"""Timers across two replicas (two engines on one database, as two processes would have):
each thing due fires once. Dispatch's deadlines race in test_dispatch_timer
(test_racing_replicas_record_each_mark_once); here feedback's rating windows, and the
election that keeps audit's checkpoints to one replica."""

import asyncio
from collections import Counter
from datetime import timedelta
from types import SimpleNamespace
from typing import Any, cast
from uuid import UUID

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from feedback_service import commands, domain, handlers, timer
from feedback_service.main import MIGRATIONS
from feedback_service.store import read_models
from shared.decisions import Context
from shared.runtime import timers
from shared.runtime.commands import execute
from shared.runtime.database import Database
from shared.runtime.running import Runtime
from tests.support import infra, polling
from tests.unit import factories

pytestmark = pytest.mark.integration
CLOSES_AT = factories.T0 + timedelta(hours=72)


async def _replied_with_open_window(db: Database) -> UUID:
    assigned = factories.assigned(factories.received())
    appeal_id = assigned.subject
    async with db.transaction() as tx:
        await handlers.on_assigned(assigned, tx)
        await read_models.mark_signed_for(tx, appeal_id, department="water")
        holder = await read_models.holder(tx, appeal_id)
        await execute(
            tx,
            commands.FEEDBACK,
            appeal_id,
            lambda s, ctx: domain.handle(
                s,
                domain.Reply(result="solved", reply="已修复"),
                appeal_id=appeal_id,
                holder=holder,
                department="water",
                context=ctx,
            ),
            context=Context("department:water", factories.T0),
        )
        await read_models.open_rating_window(tx, appeal_id, round_=1, closes_at=CLOSES_AT)
    return appeal_id


async def test_two_replicas_settle_each_rating_window_once(servers: None) -> None:
    url = await infra.fresh_database("t_feedback", MIGRATIONS)
    engines = [create_async_engine(url, pool_size=5) for _ in range(2)]
    first, second = (Database(engine) for engine in engines)
    try:
        appeals = {await _replied_with_open_window(first) for _ in range(30)}
        # Both replicas sweep at once, several times, with timer.SWEEP_LIMIT not limiting.
        counts = await asyncio.gather(
            *(timer.sweep(db, CLOSES_AT) for _ in range(3) for db in (first, second))
        )
        assert sum(counts) == len(appeals)
        rows = await infra.query(
            url, "SELECT stream_id, count(*) FROM events WHERE type = 'appeal.not_rated' GROUP BY 1"
        )
        assert dict(rows) == dict.fromkeys(appeals, 1)
    finally:
        for engine in engines:
            await engine.dispose()


def _replica(url: str) -> Runtime[Any]:
    engine = create_async_engine(url, pool_size=2)
    runtime = SimpleNamespace(
        settings=SimpleNamespace(service_name="audit"),
        engine=engine,
        db=Database(engine),
        stopping=asyncio.Event(),
    )
    return cast(Runtime[Any], runtime)


async def test_an_exclusive_timer_runs_on_one_replica_and_moves_when_it_stops(
    servers: None,
) -> None:
    url = await infra.fresh_database("t_timer_election", MIGRATIONS)
    replicas = [_replica(url), _replica(url)]
    swept: Counter[int] = Counter()

    def sweep_of(index: int) -> timers.Sweep:
        async def sweep(db: Database, now: Any) -> int:
            swept[index] += 1
            return 0

        return sweep

    tasks = [
        asyncio.create_task(
            timers.every(r, sweep_of(i), interval_seconds=0.05, batch=1, exclusive="checkpoints")
        )
        for i, r in enumerate(replicas)
    ]
    try:
        await polling.until(lambda: _at_least(swept, 20), what="the elected replica to sweep")
        [(leader, _)] = swept.items()  # one replica sweeps; the other waits for the lock
        standby = 1 - leader
        replicas[leader].stopping.set()  # a graceful stop ends its session, so its lock
        await tasks[leader]
        await polling.until(
            lambda: _standby_swept(swept, standby), what="the standby to take the timer over"
        )
        async with replicas[standby].engine.connect() as conn:
            held = await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND database = (SELECT oid FROM pg_database"
                    " WHERE datname = current_database())"
                )
            )
        assert held == 1
    finally:
        for replica in replicas:
            replica.stopping.set()
        await asyncio.gather(*tasks)
        for replica in replicas:
            await replica.engine.dispose()


async def _at_least(swept: Counter[int], n: int) -> bool | None:
    return True if sum(swept.values()) >= n else None


async def _standby_swept(swept: Counter[int], standby: int) -> bool | None:
    return True if swept[standby] > 0 else None
