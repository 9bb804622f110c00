"""feedback's rating-window timer against real PostgreSQL, with the clock in the test's hands."""

from datetime import timedelta
from uuid import uuid4

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from feedback_service import domain, handlers, store, timer
from feedback_service.main import MIGRATIONS
from shared import events
from shared.runtime.eventstore import Database
from tests.support import infra
from tests.unit import factories

pytestmark = pytest.mark.integration


async def test_an_unrated_round_is_recorded_as_not_rated_once(servers: None) -> None:
    engine = create_async_engine(await infra.fresh_database("t_feedback", MIGRATIONS))
    db = Database(engine)
    try:
        assigned = factories.assigned(factories.received())
        appeal_id = assigned.subject
        async with db.transaction() as tx:
            await handlers.on_assigned(assigned, tx)
            await store.mark_signed_for(tx, appeal_id, department="water")
            holder = await store.holder(tx, appeal_id)
            [reply], _ = await tx.decide(
                appeal_id,
                domain.evolve,
                domain.Feedback(),
                lambda s: domain.handle(
                    s,
                    domain.Reply(result="solved", reply="已修复"),
                    appeal_id=appeal_id,
                    holder=holder,
                    department="water",
                    actor="department:water",
                    event_id=uuid4(),
                    now=factories.T0,
                ),
            )
            closes_at = factories.T0 + timedelta(hours=72)
            await store.open_rating_window(tx, appeal_id, round_=1, closes_at=closes_at)

        assert await timer.sweep(db, closes_at - timedelta(seconds=1)) == 0
        assert await timer.sweep(db, closes_at) == 1
        assert await timer.sweep(db, closes_at + timedelta(days=1)) == 0

        async with db.transaction() as tx:
            recorded = await tx.load(appeal_id)
            rows = await tx.conn.execute(text("SELECT rating_closes_at FROM holders"))
            assert [r[0] for r in rows] == [None]
        last = recorded[-1].event
        assert isinstance(last, events.NotRated)
        assert (last.round, last.causation_id, last.window_closed_at) == (1, reply.id, closes_at)
    finally:
        await engine.dispose()
