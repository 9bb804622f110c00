"""Publishing a calendar year against real PostgreSQL: the version is stored from its fact,
new decisions use it, and the timer recomputes the provisional deadlines it settles, each as
a new fact, exactly once; the gauge counts what is still provisional. The clock is the
test's: 15 December 2026, when nothing past 2026 is known."""

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from dispatch_service import calendars, commands, domain, seed, store, timer
from dispatch_service.main import MIGRATIONS
from shared.runtime.commands import execute
from shared.runtime.database import Database
from shared.workdays import Arrangement
from tests.support import infra
from tests.unit import factories
from tests.unit.test_dispatch_domain import TABLE  # water leads water.outage, urban-east assists

pytestmark = pytest.mark.integration
DEC_15 = datetime(2026, 12, 15, 2, 0, tzinfo=UTC)
YEAR_2027 = Arrangement(2027, frozenset({date(2027, 1, 1)}), frozenset({date(2027, 1, 31)}))


@pytest.fixture
async def dispatch_db(servers: None) -> AsyncIterator[Database]:
    engine = create_async_engine(await infra.fresh_database("t_calendar", MIGRATIONS))
    database = Database(engine)
    async with database.transaction() as tx:
        await seed.seed(tx)
    yield database
    await engine.dispose()


async def _assign(db: Database, at: datetime) -> UUID:
    forwarded = factories.forwarded(factories.received(at=at))  # a complaint: 15 working days
    async with db.transaction() as tx:
        table = await store.current_routing(tx)
        policy = await store.policy_in_force(tx, forwarded.received_at)
        calendar = await store.current_calendar(tx)
        await execute(
            tx,
            commands.WORK_ORDER,
            forwarded.subject,
            lambda order, context: domain.assign(
                order, forwarded, table=table, policy=policy, calendar=calendar, context=context
            ),
            context=commands.by_service(at, cause=forwarded),
        )
    return forwarded.subject


async def _recomputed(db: Database) -> list[tuple[UUID, dict[str, Any]]]:
    async with db.transaction() as tx:
        rows = await tx.conn.execute(
            text("SELECT stream_id, body::jsonb -> 'data' FROM events WHERE type = :t"),
            {"t": "appeal.deadlines_recomputed"},
        )
        return [(row[0], row[1]) for row in rows]


def _gauge() -> float | None:
    return REGISTRY.get_sample_value("hotline_deadlines_provisional", {"service": "dispatch"})


async def test_publishing_a_year_recomputes_provisional_deadlines_once(
    dispatch_db: Database,
) -> None:
    provisional = await _assign(dispatch_db, DEC_15)
    final = await _assign(dispatch_db, datetime(2026, 11, 2, 2, 0, tzinfo=UTC))
    async with dispatch_db.transaction() as tx:
        row = await store.get_work_order(tx, provisional)
    assert row is not None
    assert row["provisional_years"] == [2027]
    assert row["state"]["deadlines"]["provisional"] is True
    sweep_at = DEC_15 + timedelta(hours=1)
    await timer.sweep(dispatch_db, sweep_at)  # marks the November order overdue, no more
    assert await _recomputed(dispatch_db) == []
    assert _gauge() == 1

    async with dispatch_db.transaction() as tx:
        outcome = await calendars.publish_year(
            tx, YEAR_2027, note="国办发明电", actor="operator:admin", now=sweep_at
        )
    assert outcome.version == 1
    async with dispatch_db.transaction() as tx:
        again = await calendars.publish_year(
            tx, YEAR_2027, note=None, actor="operator:admin", now=sweep_at
        )
        calendar = await store.current_calendar(tx)
        [listed] = await store.list_calendar_versions(tx, after=None, limit=10)
    assert (again.version, again.new) == (1, ())  # the same arrangement publishes nothing
    assert (calendar.number, calendar.knows(2027)) == (1, True)
    assert (listed["year"], listed["holidays"], listed["note"]) == (
        2027,
        [date(2027, 1, 1)],
        "国办发明电",
    )

    assert await timer.sweep(dispatch_db, sweep_at) == 1
    assert await timer.sweep(dispatch_db, sweep_at) == 0  # once, whoever sweeps
    assert _gauge() == 0
    [(stream_id, data)] = await _recomputed(dispatch_db)
    async with dispatch_db.transaction() as tx:
        row = await store.get_work_order(tx, provisional)
    assert stream_id == provisional != final
    assert data["years"] == [2027]
    assert data["previous"]["provisional_years"] == [2027]
    assert data["deadlines"]["provisional_years"] == []
    assert data["deadlines"]["calendar"] == calendar.version
    assert row is not None
    assert row["provisional_years"] == []
    stored, recorded = row["state"]["deadlines"]["handle_due"], data["deadlines"]["handle_due"]
    assert datetime.fromisoformat(stored) == datetime.fromisoformat(recorded)


async def test_the_calendar_stream_is_a_chain_of_its_own(dispatch_db: Database) -> None:
    async with dispatch_db.transaction() as tx:
        first = await calendars.publish_year(
            tx, YEAR_2027, note=None, actor="operator:admin", now=DEC_15
        )
    corrected = Arrangement(2027, YEAR_2027.holidays | {date(2027, 1, 4)}, YEAR_2027.workdays)
    async with dispatch_db.transaction() as tx:
        second = await calendars.publish_year(
            tx, corrected, note=None, actor="operator:admin", now=DEC_15
        )
        stream = first.new[0].subject
        recorded = await tx.load(stream)
    assert second.new[0].subject == stream
    assert [(r.event.type, r.version) for r in recorded] == [
        ("calendar.published", 1),
        ("calendar.published", 2),
    ]


async def test_publishing_a_year_recomputes_an_assisting_departments_deadline_once(
    dispatch_db: Database,
) -> None:
    # Tuesday 29 December 2026: urban-east's 3 working days to assist end on Friday 1 January
    # on weekdays alone; with 2027 published, 1 January is a holiday: Monday 4 January.
    dec_29 = datetime(2026, 12, 29, 2, 0, tzinfo=UTC)
    forwarded = factories.forwarded(factories.received(category="water.outage", at=dec_29))
    async with dispatch_db.transaction() as tx:
        policy = await store.policy_in_force(tx, dec_29)
        calendar = await store.current_calendar(tx)
        await execute(
            tx,
            commands.WORK_ORDER,
            forwarded.subject,
            lambda order, context: domain.assign(
                order, forwarded, table=TABLE, policy=policy, calendar=calendar, context=context
            ),
            context=commands.by_service(dec_29, cause=forwarded),
        )
        row = await store.get_work_order(tx, forwarded.subject)
    assert row is not None
    [asked] = row["state"]["assists"]
    assert (asked["department"], asked["provisional_years"]) == ("urban-east", [2027])
    assert datetime.fromisoformat(asked["due"]) == datetime(2027, 1, 1, 10, 0, tzinfo=UTC)

    async with dispatch_db.transaction() as tx:
        await calendars.publish_year(tx, YEAR_2027, note=None, actor="operator:admin", now=dec_29)
    assert await timer.sweep(dispatch_db, dec_29) == 2  # the lead's deadlines, and the ask's
    assert await timer.sweep(dispatch_db, dec_29) == 0  # once, whoever sweeps
    async with dispatch_db.transaction() as tx:
        rows = await tx.conn.execute(
            text("SELECT stream_id, body::jsonb -> 'data' FROM events WHERE type = :t"),
            {"t": "appeal.assist_deadline_recomputed"},
        )
        [(stream_id, data)] = [(r[0], r[1]) for r in rows]
        row = await store.get_work_order(tx, forwarded.subject)
    jan_4 = datetime(2027, 1, 4, 10, 0, tzinfo=UTC)
    assert stream_id == forwarded.subject
    assert (data["department"], data["years"], data["provisional_years"]) == (
        "urban-east",
        [2027],
        [],
    )
    assert datetime.fromisoformat(data["due"]) == jan_4
    assert row is not None
    assert row["provisional_years"] == []
    [settled] = row["state"]["assists"]
    assert (datetime.fromisoformat(settled["due"]), settled["provisional_years"]) == (jan_4, [])
