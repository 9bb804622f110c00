"""Assisting departments (协办): each asked by its own deadline, and marked overdue once.

A holding's assisting departments are asked when it starts (assignment, redispatch), each on
the policy's assist window counted on the same calendar as the lead's clocks, never past the
lead's handling deadline: the lead cannot reply on a contribution it has not had. The ask is a
fact (`appeal.assist_requested`) recording the SLA policy and calendar versions that computed
it and its warning mark; a contribution (`appeal.assist_contributed`) settles it. Before
that the timer records, once each, `appeal.assist_warned` at the warning mark (with an
automatic reminder to the assisting department, as the lead gets at its own) and
`appeal.assist_overdue` if the deadline passes. A redo keeps the holding's asks:
the lead redoes its reply; what the assisting departments gave stands. An ask counted on
weekdays across a year with no published arrangement is provisional, and is recomputed as a
new fact (`appeal.assist_deadline_recomputed`) once that year is published, beside the lead's.
"""

from datetime import datetime
from uuid import UUID

from dispatch_service.domain import sla
from dispatch_service.domain.state import Assist, WorkOrder, fact
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
    warn_at = sla.warn_at(policy, context.now, deadline=due)
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
            warn_at=warn_at,
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
                warn_at=sla.warn_at(policy, asked.asked_at, deadline=due),
            )
        )
    return found


def _outstanding(order: WorkOrder) -> list[Assist]:
    if not order.is_open:
        return []
    return [a for a in order.assists if a.contributed_at is None and not a.overdue]


def _warnings_due(order: WorkOrder) -> list[tuple[Assist, datetime]]:
    return [
        (a, a.warn_at)
        for a in _outstanding(order)
        if a.warn_at is not None and a.warned_due != a.due
    ]


def due_marks(order: WorkOrder, *, context: Context) -> list[events.Event]:
    """For each assisting department with nothing contributed: `appeal.assist_warned` once
    its warning mark has come (once per deadline: a recomputed one can be warned again),
    with an automatic reminder (催办) to it while its deadline is still ahead; and
    `appeal.assist_overdue` once its deadline has passed."""
    found: list[events.Event] = []
    for asked, warn_at in _warnings_due(order):
        if context.now < warn_at:
            continue
        department, due = asked.department, asked.due
        found.append(
            fact(events.AssistWarned, order, context=context, department=department, due=due)
        )
        if context.now < due:
            note = f"自动催办：协办期限 {due.isoformat()} 将至"
            found.append(
                fact(
                    events.Supervised,
                    order,
                    context=context,
                    department=department,
                    level="reminder",
                    note=note,
                )
            )
    found += [
        fact(events.AssistOverdue, order, context=context, department=a.department, due=a.due)
        for a in _outstanding(order)
        if context.now >= a.due
    ]
    return found


def next_mark_at(order: WorkOrder) -> datetime | None:
    """When `due_marks` will next have something to say."""
    warnings = [warn_at for _, warn_at in _warnings_due(order)]
    return min([*warnings, *(a.due for a in _outstanding(order))], default=None)
