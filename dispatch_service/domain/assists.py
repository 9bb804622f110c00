"""Assisting departments (协办): each asked by its own deadline, and marked overdue once.

A holding's assisting departments are asked when it starts (assignment, redispatch), each on
the policy's assist window counted on the same calendar as the lead's clocks, never past the
lead's handling deadline: the lead cannot reply on a contribution it has not had. The ask is a
fact (`appeal.assist_requested`) recording the SLA policy and calendar versions that computed
it; a contribution (`appeal.assist_contributed`) settles it, and the timer records
`appeal.assist_overdue` once if the deadline passes first. A redo keeps the holding's asks:
the lead redoes its reply; what the assisting departments gave stands. An ask counted on
weekdays across a year with no published arrangement is provisional, and is recomputed as a
new fact (`appeal.assist_deadline_recomputed`) once that year is published, beside the lead's.
"""

from datetime import datetime
from uuid import UUID

from dispatch_service.domain import sla
from dispatch_service.domain.state import WorkOrder, fact
from shared import events
from shared.decisions import Context
from shared.workdays import WorkdayCalendar


def ask(
    assisting: tuple[str, ...],
    *,
    lead: str,
    subject: UUID,
    correlation_id: UUID,
    causation_id: UUID | None,
    deadlines: events.Deadlines,
    policy: sla.SlaPolicy,
    calendar: WorkdayCalendar,
    context: Context,
) -> list[events.Event]:
    """One ask per assisting department of a holding starting at `context.now`."""
    due, years = sla.assist_due(
        policy, calendar, start=context.now, handle_due=deadlines.handle_due
    )
    return [
        events.AssistRequested(
            id=context.new_id(),
            subject=subject,
            time=context.now,
            actor=context.actor,
            causation_id=causation_id,
            correlation_id=correlation_id,
            department=department,
            lead=lead,
            due=due,
            policy_version=policy.version,
            calendar=calendar.version,
            provisional_years=years,
        )
        for department in dict.fromkeys(assisting)  # each once, in the order given
        if department != lead
    ]


def ask_after(
    started: events.Assigned | events.Redispatched,
    *,
    policy: sla.SlaPolicy,
    calendar: WorkdayCalendar,
    context: Context,
) -> list[events.Event]:
    """The asks of the holding `started` begins, caused by it."""
    return ask(
        started.assisting,
        lead=started.department,
        subject=started.subject,
        correlation_id=started.correlation_id,
        causation_id=started.id,
        deadlines=started.deadlines,
        policy=policy,
        calendar=calendar,
        context=context,
    )


def recompute(
    order: WorkOrder,
    *,
    policy: sla.SlaPolicy,
    calendar: WorkdayCalendar,
    handle_due: datetime,
    context: Context,
) -> list[events.Event]:
    """The asks whose deadlines `calendar` settles, or whose cap (the lead's handling
    deadline, now `handle_due`) moved, computed again from the same ask under the pinned
    `policy`. Every ask of the holding, settled ones too: audit measures them on the
    deadline that stands. A recorded overdue mark stays recorded."""
    found: list[events.Event] = []
    for asked in order.assists:
        years = tuple(y for y in asked.provisional_years if calendar.knows(y))
        due, still = sla.assist_due(policy, calendar, start=asked.asked_at, handle_due=handle_due)
        if not years and (due, still) == (asked.due, asked.provisional_years):
            continue
        found.append(
            fact(
                events.AssistDeadlineRecomputed,
                order,
                context=context,
                department=asked.department,
                years=years,
                previous_due=asked.due,
                due=due,
                policy_version=policy.version,
                calendar=calendar.version,
                provisional_years=still,
            )
        )
    return found


def _outstanding(order: WorkOrder) -> list[tuple[str, datetime]]:
    if not order.is_open:
        return []
    return [
        (a.department, a.due) for a in order.assists if a.contributed_at is None and not a.overdue
    ]


def overdue_marks(order: WorkOrder, *, context: Context) -> list[events.Event]:
    """`appeal.assist_overdue` for each assisting department whose deadline has passed with
    nothing contributed, once each."""
    return [
        fact(events.AssistOverdue, order, context=context, department=department, due=due)
        for department, due in _outstanding(order)
        if context.now >= due
    ]


def next_overdue_at(order: WorkOrder) -> datetime | None:
    return min((due for _, due in _outstanding(order)), default=None)
