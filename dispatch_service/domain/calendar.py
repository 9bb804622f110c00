"""The working-day calendar as versioned data, and the deadlines it leaves provisional.

Operators publish a year's official arrangement as a new calendar version (a fact on the
calendar's own stream). A deadline counted across a year nobody had published was computed
on weekdays and marked provisional; once the year is published, the timer recomputes it as a
new fact (`appeal.deadlines_recomputed`), never by rewriting the old one. Pure.
"""

from uuid import UUID

from dispatch_service.domain import assists, sla
from dispatch_service.domain.state import WorkOrder, fact
from shared import events
from shared.decisions import Context
from shared.workdays import Arrangement, WorkdayCalendar, version_name

Published = tuple[Arrangement, ...]  # every arrangement published, calendar version n at [n-1]


def evolve_calendar(published: Published, event: events.Event) -> Published:
    if isinstance(event, events.CalendarPublished):
        return (*published, arrangement_of(event))
    return published


def arrangement_of(event: events.CalendarPublished) -> Arrangement:
    return Arrangement(event.year, frozenset(event.holidays), frozenset(event.workdays))


def calendar_at(published: Published) -> WorkdayCalendar:
    return WorkdayCalendar(published, number=len(published))


def publish_year(
    published: Published,
    arrangement: Arrangement,
    *,
    stream_id: UUID,
    note: str | None,
    context: Context,
) -> list[events.Event]:
    """A new calendar version with the year's arrangement, on the calendar's stream, unless
    the calendar already has exactly that arrangement for the year (then nothing:
    publishing is idempotent)."""
    if calendar_at(published).published.get(arrangement.year) == arrangement:
        return []
    number = len(published) + 1
    return [
        events.CalendarPublished(
            id=context.new_id(),
            subject=stream_id,
            time=context.now,
            actor=context.actor,
            causation_id=context.causation_id,
            correlation_id=stream_id,
            number=number,
            calendar=version_name(number),
            year=arrangement.year,
            holidays=tuple(sorted(arrangement.holidays)),
            workdays=tuple(sorted(arrangement.workdays)),
            note=note,
        )
    ]


def recompute_deadlines(
    order: WorkOrder | None,
    *,
    policy: sla.SlaPolicy,
    calendar: WorkdayCalendar,
    context: Context,
) -> list[events.Event]:
    """The open work order's deadlines again, if a year they were counted across on weekdays
    is now published: from the same start, under the SLA policy they were pinned to (`policy`
    is that version), with this holding's approved extensions replayed in order. The dispatch
    deadline, from receipt, has passed by assignment and stays as recorded. Its assisting
    departments' deadlines likewise, each its own fact, capped by the lead's that stands."""
    if order is None or not order.is_open:
        return []
    lead = _lead_recomputed(order, policy=policy, calendar=calendar, context=context)
    handle_due = lead[0].deadlines.handle_due if lead else order.deadlines.handle_due
    return [
        *lead,
        *assists.recompute(
            order, policy=policy, calendar=calendar, handle_due=handle_due, context=context
        ),
    ]


def _lead_recomputed(
    order: WorkOrder, *, policy: sla.SlaPolicy, calendar: WorkdayCalendar, context: Context
) -> list[events.DeadlinesRecomputed]:
    previous = order.deadlines
    years = tuple(y for y in previous.provisional_years if calendar.knows(y))
    if not years:
        return []
    fresh = sla.deadlines(
        policy,
        calendar,
        appeal_type=order.appeal_type,
        urgency=order.urgency,
        category=order.category,
        start=order.assigned_at,
    )
    for approved_at, working_days in order.extensions:
        fresh = sla.extended(
            policy, calendar, current=fresh, working_days=working_days, now=approved_at
        )
    fresh = fresh.model_copy(update={"dispatch_due": previous.dispatch_due})
    return [
        fact(
            events.DeadlinesRecomputed,
            order,
            context=context,
            department=order.department,
            years=years,
            previous=previous,
            deadlines=fresh,
        )
    ]
