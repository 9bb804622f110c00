"""dispatch's working-day calendar as feedback learns it: one row per `calendar.published`
fact, and the calendar they make."""

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from feedback_service.store.tables import calendar_versions
from shared import events
from shared.runtime.eventstore import Tx
from shared.workdays import Arrangement, WorkdayCalendar

_calendars: dict[int, WorkdayCalendar] = {}  # a version never changes once learnt
# The versions learnt, on the driver (every approval reads it); their dates only when new.
_NUMBERS = "SELECT number FROM calendar_versions ORDER BY number"


async def learn(tx: Tx, event: events.CalendarPublished) -> None:
    await tx.conn.execute(
        insert(calendar_versions)
        .values(
            number=event.number,
            year=event.year,
            holidays=list(event.holidays),
            workdays=list(event.workdays),
        )
        .on_conflict_do_nothing()
    )


async def current_calendar(tx: Tx) -> WorkdayCalendar:
    """The newest version learnt whole: versions 1..n with none missing (each version is
    the seed plus every arrangement before it, so a gap would build another calendar)."""
    numbers = [row[0] for row in await tx.driver.fetch(_NUMBERS)]
    number = 0
    while number < len(numbers) and numbers[number] == number + 1:
        number += 1
    if (calendar := _calendars.get(number)) is None:
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
