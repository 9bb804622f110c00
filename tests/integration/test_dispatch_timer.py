"""dispatch's durable timer against real PostgreSQL, with the clock in the test's hands, and
its reactions to feedback's facts keeping the work-order view in step with the stream."""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from dispatch_service import commands, domain, handlers, seed, store, timer
from dispatch_service.main import MIGRATIONS
from shared import events
from shared.runtime.auth import Principal
from shared.runtime.database import Database
from tests.support import infra
from tests.unit import factories

pytestmark = pytest.mark.integration


@pytest.fixture
async def dispatch_db(servers: None) -> AsyncIterator[Database]:
    engine = create_async_engine(await infra.fresh_database("t_timer", MIGRATIONS), pool_size=10)
    database = Database(engine)
    async with database.transaction() as tx:
        await seed.seed(tx)
    yield database
    await engine.dispose()


async def _marks(db: Database) -> list[tuple[str, str]]:
    async with db.transaction() as tx:
        rows = await tx.conn.execute(
            text(
                "SELECT type, body::jsonb -> 'data' ->> 'clock' FROM events "
                "WHERE type LIKE 'appeal.deadline_%' ORDER BY id"
            )
        )
        return [(row[0], row[1]) for row in rows]


async def test_marks_are_recorded_when_due_and_only_once(dispatch_db: Database) -> None:
    received = factories.received()
    async with dispatch_db.transaction() as tx:
        await handlers.on_appeal_forwarded(factories.forwarded(received), tx)
        order, _ = await tx.load_state(received.subject, domain.evolve, None)
    assert order is not None
    d = order.deadlines

    assert await timer.sweep(dispatch_db, d.sign_for_warn_at - timedelta(seconds=1)) == 0
    assert await timer.sweep(dispatch_db, d.sign_for_warn_at) == 2  # the warning, a reminder
    assert await timer.sweep(dispatch_db, d.sign_for_warn_at) == 0  # a second sweep, or replica
    assert await timer.sweep(dispatch_db, d.handle_due + timedelta(hours=1)) == 3
    assert await _marks(dispatch_db) == [
        ("appeal.deadline_warned", "sign_for"),
        ("appeal.deadline_missed", "sign_for"),
        ("appeal.deadline_warned", "handling"),
        ("appeal.deadline_missed", "handling"),
    ]
    async with dispatch_db.transaction() as tx:
        overdue, next_at = (
            await tx.conn.execute(
                text("SELECT overdue, next_signal_at FROM work_orders WHERE appeal_id = :a"),
                {"a": received.subject},
            )
        ).one()
    assert (overdue, next_at) == (True, None)


async def test_racing_replicas_record_each_mark_once(dispatch_db: Database) -> None:
    appeals = [factories.received() for _ in range(20)]
    async with dispatch_db.transaction() as tx:
        for received in appeals:
            await handlers.on_appeal_forwarded(factories.forwarded(received), tx)
        order, _ = await tx.load_state(appeals[0].subject, domain.evolve, None)
    assert order is not None
    late = order.deadlines.handle_due + timedelta(days=1)

    counts = await asyncio.gather(*(timer.sweep(dispatch_db, late) for _ in range(4)))

    assert sum(counts) == 4 * len(appeals)  # 4 marks each, whoever recorded them
    marks = await _marks(dispatch_db)
    assert len(marks) == 4 * len(appeals)


async def test_ratings_redo_then_close_and_the_view_follows_the_stream(
    dispatch_db: Database,
) -> None:
    received = factories.received()
    async with dispatch_db.transaction() as tx:
        await handlers.on_appeal_forwarded(factories.forwarded(received), tx)
        [assigned] = [r.event for r in await tx.load(received.subject)]
    assert isinstance(assigned, events.Assigned)
    first = factories.handled(assigned)
    async with dispatch_db.transaction() as tx:
        await handlers.on_handled(first, tx)
        await handlers.on_rated(factories.rated(first, "dissatisfied"), tx)
        redone = await store.get_work_order(tx, received.subject)
    assert redone is not None
    assert (redone["stage"], redone["round"], redone["version"]) == ("assigned", 2, 2)
    assert redone["state"]["handled_this_round"] is False  # round 1's reply counts no more

    second = first.model_copy(update={"id": uuid4(), "round": 2})
    async with dispatch_db.transaction() as tx:
        await handlers.on_handled(second, tx)
        await handlers.on_rated(factories.rated(second).model_copy(update={"round": 2}), tx)
        closed = await store.get_work_order(tx, received.subject)
        order, version = await tx.load_state(received.subject, domain.evolve, None)
    assert closed is not None
    assert order is not None
    assert (closed["stage"], closed["version"]) == ("closed", version)
    assert (order.stage, order.round) == ("closed", 2)


async def _water_replied_heating_holds(db: Database) -> events.Handled:
    """water replied, and the centre gave the order to heating before dispatch heard the
    reply: heating holds the same round. water's reply, as dispatch hears it now."""
    received = factories.received()
    operator = Principal("operator:wang", frozenset({"workorders:admin"}))
    async with db.transaction() as tx:
        await handlers.on_appeal_forwarded(factories.forwarded(received), tx)
        [assigned] = [r.event for r in await tx.load(received.subject)]
        _, version = await tx.load_state(received.subject, domain.evolve, None)
        await commands.reassign(
            tx, received.subject, department="heating", assisting=(), reason="供热管网",
            caller=operator, expected_version=version,
        )  # fmt: skip
    assert isinstance(assigned, events.Assigned)
    return factories.handled(assigned)


def _reviewed(water: events.Handled, decision: str) -> events.ReplyReviewed:
    approved = decision == "approved"
    return events.ReplyReviewed(
        id=uuid4(), subject=water.subject, time=water.time, actor="operator:zhao",
        correlation_id=water.correlation_id, round=1, department="water", decision=decision,
        reason=None if approved else "答复未说明处理结果",
        callback_due=water.time + timedelta(days=1) if approved else None,
    )  # fmt: skip


async def _heard(db: Database, *facts: events.Handled | events.ReplyReviewed) -> dict[str, Any]:
    async with db.transaction() as tx:
        for fact in facts:
            if isinstance(fact, events.Handled):
                await handlers.on_handled(fact, tx)
            else:
                await handlers.on_reply_reviewed(fact, tx)
        held = await store.get_work_order(tx, facts[0].subject)
    assert held is not None
    return held


async def test_a_reply_heard_after_its_department_lost_the_lead_leaves_the_new_lead_running(
    dispatch_db: Database,
) -> None:
    # water's reply (and its review) are not heating's
    water = await _water_replied_heating_holds(dispatch_db)
    held = await _heard(dispatch_db, water, _reviewed(water, "sent_back"))
    assert (held["department"], held["round"]) == ("heating", 1)
    assert held["state"]["handled_this_round"] is False  # heating's clock runs on
    heating = water.model_copy(update={"id": uuid4(), "department": "heating"})
    assert (await _heard(dispatch_db, heating))["state"]["handled_this_round"] is True


async def test_an_approved_reply_of_a_lead_since_replaced_stops_the_new_leads_clock(
    dispatch_db: Database,
) -> None:
    # feedback takes no reply after an approved one in the round: heating has none to give
    water = await _water_replied_heating_holds(dispatch_db)
    held = await _heard(dispatch_db, water, _reviewed(water, "approved"))
    assert (held["department"], held["state"]["handled_this_round"]) == ("heating", True)


async def test_an_assisting_departments_deadline_is_marked_once_and_its_queue_lists_the_order(
    dispatch_db: Database,
) -> None:
    received = factories.received()
    operator = Principal("operator:wang", frozenset({"workorders:admin"}))
    async with dispatch_db.transaction() as tx:
        await handlers.on_appeal_forwarded(factories.forwarded(received), tx)
        _, version = await tx.load_state(received.subject, domain.evolve, None)
        moved = await commands.reassign(
            tx,
            received.subject,
            department="heating",
            assisting=("gas",),
            reason="供热管网施工",
            caller=operator,
            expected_version=version,
        )
        assert moved.state is not None
        [assist] = moved.state.assists
        gas_queue = await store.list_work_orders(
            tx,
            department="gas",
            role="assisting",
            stage=None,
            district=None,
            overdue=None,
            open_only=True,
            after=None,
            limit=10,
        )
        as_lead = await store.list_work_orders(
            tx,
            department="gas",
            role="lead",
            stage=None,
            district=None,
            overdue=None,
            open_only=True,
            after=None,
            limit=10,
        )
    assert [row["appeal_id"] for row in gas_queue] == [received.subject]
    assert as_lead == []
    [shown] = gas_queue[0]["state"]["assists"]
    assert (shown["department"], shown["state"]) == ("gas", "asked")

    # at its warning mark: warned once, with an automatic reminder to gas
    assert assist.warn_at is not None
    assert await timer.sweep(dispatch_db, assist.warn_at) >= 2
    assert await timer.sweep(dispatch_db, assist.warn_at) == 0  # a second sweep, or replica
    async with dispatch_db.transaction() as tx:
        marks = (
            await tx.conn.execute(
                text(
                    "SELECT type, body::jsonb -> 'data' FROM events WHERE type IN "
                    "('appeal.assist_warned', 'appeal.supervised') ORDER BY id"
                )
            )
        ).all()
    assert [(t, d["department"]) for t, d in marks if d["department"] == "gas"] == [
        ("appeal.assist_warned", "gas"),
        ("appeal.supervised", "gas"),
    ]

    # only the lead's marks may come between the warning and the assist's own deadline
    recorded = await timer.sweep(dispatch_db, assist.due)
    assert recorded >= 1
    assert await timer.sweep(dispatch_db, assist.due) == 0  # a second sweep, or replica
    async with dispatch_db.transaction() as tx:
        overdue = (
            await tx.conn.execute(
                text(
                    "SELECT body::jsonb -> 'data' FROM events WHERE type = 'appeal.assist_overdue'"
                )
            )
        ).all()
        row = await store.get_work_order(tx, received.subject)
    assert [(o[0]["department"], o[0]["due"]) for o in overdue] == [
        ("gas", assist.due.isoformat().replace("+00:00", "Z"))
    ]
    assert row is not None
    assert row["state"]["assists"][0]["state"] == "overdue"
