"""feedback's rating-window timer against real PostgreSQL, with the clock in the test's hands."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from feedback_service import commands, domain, handlers, rating_links, timer
from feedback_service.main import MIGRATIONS
from feedback_service.settings import FeedbackSettings
from feedback_service.store import calendar as calendar_store
from feedback_service.store import read_models
from shared import events
from shared.decisions import Context
from shared.runtime.commands import execute
from shared.runtime.database import Database
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
            await read_models.mark_signed_for(tx, appeal_id, department="water")
            holder = await read_models.holder(tx, appeal_id)
            replied = await execute(
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
            [reply] = replied.new
            closes_at = factories.T0 + timedelta(hours=72)
            await read_models.open_rating_window(tx, appeal_id, round_=1, closes_at=closes_at)

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


async def test_the_window_waits_for_the_callback_on_dispatchs_calendar(servers: None) -> None:
    """feedback learns dispatch's calendar from its facts; a reply approved on a Friday at
    17:30 falls due for a callback on Monday by 18:00, and the round is not "not rated" at
    Monday 17:30 (72 hours) but only once the callback was due."""
    engine = create_async_engine(await infra.fresh_database("t_feedback_cal", MIGRATIONS))
    db = Database(engine)
    beijing = ZoneInfo("Asia/Shanghai")
    friday = datetime(2026, 11, 13, 17, 30, tzinfo=beijing).astimezone(UTC)
    try:
        assigned = factories.assigned(factories.received())
        appeal_id = assigned.subject
        published = next(
            f for f in factories.dispatch_facts(assigned) if isinstance(f, events.CalendarPublished)
        )
        async with db.transaction() as tx:
            await handlers.on_calendar_published(published, tx)
            await handlers.on_calendar_published(published, tx)  # a redelivery changes nothing
            calendar = await calendar_store.current_calendar(tx)
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
                context=Context("department:water", friday),
            )
            due = domain.callback_due(friday, calendar, working_days=1, hours=None)
            await execute(
                tx,
                commands.FEEDBACK,
                appeal_id,
                lambda s, ctx: domain.review(
                    s,
                    domain.ReviewDecision("approved"),
                    appeal_id=appeal_id,
                    holder=None,
                    callback_due=due,
                    calendar=calendar.version,
                    rating_window=timedelta(hours=72),
                    context=ctx,
                ),
                context=Context("operator:zhao", friday),
            )
        assert calendar.version == published.calendar
        monday_1800 = datetime(2026, 11, 16, 18, 0, tzinfo=beijing).astimezone(UTC)
        assert due == monday_1800
        assert await timer.sweep(db, friday + timedelta(hours=72)) == 0
        assert await timer.sweep(db, monday_1800) == 1
        async with db.transaction() as tx:
            last = (await tx.load(appeal_id))[-1].event
        assert isinstance(last, events.NotRated)
    finally:
        await engine.dispose()


async def test_a_merged_child_has_its_own_window_and_is_not_rated_on_its_own(
    servers: None,
) -> None:
    """并单: the parent's approval opens its merged child's window too. The parent rated, the
    child never reached: when the child's window closes it is recorded "not rated" on its
    own stream, and leaves the callback queue."""
    engine = create_async_engine(await infra.fresh_database("t_feedback_child", MIGRATIONS))
    db = Database(engine)
    try:
        assigned = factories.assigned(factories.received())
        parent = assigned.subject
        child_received = factories.received()
        child = child_received.subject
        merged = events.MergedInto(
            id=uuid4(), subject=child, time=factories.T0, actor="operator:li",
            correlation_id=child_received.correlation_id, parent=parent, reason="同一地址",
        )  # fmt: skip
        async with db.transaction() as tx:
            await handlers.on_assigned(assigned, tx)
            await handlers.on_merged(merged, tx)
            await read_models.mark_signed_for(tx, parent, department="water")
            holder = await read_models.holder(tx, parent)
            await execute(
                tx, commands.FEEDBACK, parent,
                lambda s, ctx: domain.handle(
                    s, domain.Reply(result="solved", reply="已修复"), appeal_id=parent,
                    holder=holder, department="water", context=ctx,
                ),
                context=Context("department:water", factories.T0),
            )  # fmt: skip
            due = factories.T0 + timedelta(days=1)
            await execute(
                tx, commands.FEEDBACK, parent,
                lambda s, ctx: domain.review(
                    s, domain.ReviewDecision("approved"), appeal_id=parent, holder=None,
                    callback_due=due, calendar="seed", rating_window=timedelta(hours=72),
                    context=ctx,
                ),
                context=Context("operator:zhao", factories.T0),
            )  # fmt: skip
        closes_at = factories.T0 + timedelta(hours=72)
        async with db.transaction() as tx:
            queued = await tx.conn.execute(text("SELECT appeal_id FROM callbacks_due"))
            assert {r[0] for r in queued} == {parent, child}
            # the child's citizen may be sent a rating link of its own, for the parent's round
            link = await rating_links.issue(
                FeedbackSettings(), tx, child, now=factories.T0 + timedelta(hours=1)
            )
            assert (link.round, link.expires_at) == (1, closes_at)
        assert await timer.sweep(db, closes_at) == 2  # the parent's round, and the child's
        assert await timer.sweep(db, closes_at + timedelta(days=1)) == 0
        async with db.transaction() as tx:
            [own] = [r.event for r in await tx.load(child)]
            queued = await tx.conn.execute(text("SELECT appeal_id FROM callbacks_due"))
            assert list(queued) == []
        assert isinstance(own, events.NotRated)
        assert (own.round, own.window_closed_at) == (1, closes_at)
    finally:
        await engine.dispose()
