"""The working-day calendar's SQL: its published versions (projected from the calendar
stream) and the open work orders whose deadlines are provisional."""

from typing import Any
from uuid import UUID

from sqlalchemy import func, select

from dispatch_service.store import versions
from dispatch_service.store.tables import calendar_versions, work_orders
from shared import events
from shared.runtime.eventstore import Tx
from shared.workdays import Arrangement, WorkdayCalendar

_CALENDAR_LOCK = 0x0CA1E0DA  # an advisory lock key of dispatch's own
# Published versions never change, so each calendar is built once per process.
_calendars: dict[int, WorkdayCalendar] = {}


async def save_calendar_version(tx: Tx, event: events.CalendarPublished) -> None:
    await tx.conn.execute(
        calendar_versions.insert().values(
            number=event.number,
            stream_id=event.subject,
            year=event.year,
            holidays=list(event.holidays),
            workdays=list(event.workdays),
            note=event.note,
            published_by=event.actor,
            published_at=event.time,
        )
    )
    versions.forget(tx)  # this transaction now sees the new version


async def lock_calendar(tx: Tx) -> UUID | None:
    """Serialise publishers for this transaction (the first publication draws the stream's
    id, so two first publishers must not race); the calendar stream's id, if any."""
    await tx.conn.execute(select(func.pg_advisory_xact_lock(_CALENDAR_LOCK)))
    found: UUID | None = await tx.conn.scalar(
        select(calendar_versions.c.stream_id).where(calendar_versions.c.number == 1)
    )
    return found


async def current_calendar(tx: Tx) -> WorkdayCalendar:
    """The newest calendar version (the seed when nothing was published): its number read
    with the other versions in force, once per transaction (versions.in_force), each
    version built once per process."""
    number = (await versions.in_force(tx)).calendar
    if (calendar := _calendars.get(number)) is None:
        # Up to that number only: one published meanwhile is another version.
        rows = await tx.conn.execute(
            select(calendar_versions)
            .where(calendar_versions.c.number <= number)
            .order_by(calendar_versions.c.number)
        )
        calendar = _calendars[number] = WorkdayCalendar(
            (Arrangement(r.year, frozenset(r.holidays), frozenset(r.workdays)) for r in rows),
            number=number,
        )
    return calendar


async def list_calendar_versions(tx: Tx, *, after: int | None, limit: int) -> list[dict[str, Any]]:
    query = select(calendar_versions).order_by(calendar_versions.c.number).limit(limit)
    if after is not None:
        query = query.where(calendar_versions.c.number > after)
    return [dict(r._mapping) for r in await tx.conn.execute(query)]


async def provisional_work_orders(tx: Tx, years: list[int], limit: int) -> list[UUID]:
    """Open work orders with deadlines provisional on any of `years`, locked for this
    transaction; another replica's timer skips them rather than waiting."""
    if not years:
        return []
    rows = await tx.conn.execute(
        select(work_orders.c.appeal_id)
        .where(
            work_orders.c.stage != "closed",
            func.cardinality(work_orders.c.provisional_years) > 0,
            work_orders.c.provisional_years.overlap(years),
        )
        .order_by(work_orders.c.appeal_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [row.appeal_id for row in rows]


async def count_provisional(tx: Tx) -> int:
    """Open work orders whose deadlines are provisional (the gauge)."""
    found = await tx.conn.scalar(
        select(func.count()).where(
            work_orders.c.stage != "closed", func.cardinality(work_orders.c.provisional_years) > 0
        )
    )
    return int(found or 0)
