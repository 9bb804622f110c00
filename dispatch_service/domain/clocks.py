"""Warnings and overdue marks: which are due, and when the next one will be."""

from datetime import datetime

from dispatch_service.domain import assists
from dispatch_service.domain.state import WorkOrder, fact
from shared import events
from shared.decisions import Context

Mark = tuple[
    type[events.DeadlineWarned | events.DeadlineMissed], events.Clock, datetime, datetime
]  # (fact, clock, when it fires, the deadline it is about)


def _marks(order: WorkOrder, *, handled: bool) -> list[Mark]:
    """The marks not yet recorded. The sign-for clock runs until sign-for; the handling
    clock until the department has replied in this round. Each mark is recorded once per
    deadline: a moved deadline (extension, redispatch, redo) can be marked again."""
    if not order.is_open:
        return []
    d = order.deadlines
    marks: list[Mark] = []
    if order.stage == "assigned":
        marks += [
            (events.DeadlineWarned, "sign_for", d.sign_for_warn_at, d.sign_for_due),
            (events.DeadlineMissed, "sign_for", d.sign_for_due, d.sign_for_due),
        ]
    if not handled:
        marks += [
            (events.DeadlineWarned, "handling", d.handle_warn_at, d.handle_due),
            (events.DeadlineMissed, "handling", d.handle_due, d.handle_due),
        ]
    return [m for m in marks if (m[0].__name__, m[1], m[3]) not in order.signalled]


_CLOCK_NAMES = {"sign_for": "签收", "handling": "办理"}


def due_signals(order: WorkOrder | None, *, handled: bool, context: Context) -> list[events.Event]:
    """Warnings and overdue marks whose time has come. A warning recorded before its
    deadline brings the reminder (催办) with it, so supervision at the warning mark needs
    nobody to remember it; a warning recorded only once the deadline has passed (a late
    sweep) brings none, since the overdue mark follows at once."""
    if order is None:
        return []
    found: list[events.Event] = []
    for kind, clock, fires_at, due in _marks(order, handled=handled):
        if context.now < fires_at:
            continue
        found.append(
            fact(kind, order, context=context, department=order.department, clock=clock, due=due)
        )
        if kind is events.DeadlineWarned and context.now < due:
            note = f"自动催办：{_CLOCK_NAMES[clock]}期限 {due.isoformat()} 将至"
            found.append(
                fact(
                    events.Supervised,
                    order,
                    context=context,
                    department=order.department,
                    level="reminder",
                    note=note,
                )
            )
    return [*found, *assists.due_marks(order, context=context)]


def next_signal_at(order: WorkOrder, *, handled: bool) -> datetime | None:
    """When `due_signals` will next have something to say (the timer's index)."""
    fires = [fires_at for _, _, fires_at, _ in _marks(order, handled=handled)]
    assist_mark = assists.next_mark_at(order)
    return min([*fires, *([] if assist_mark is None else [assist_mark])], default=None)


def handled_round_after_review(
    order: WorkOrder | None, reviewed: events.ReplyReviewed, *, handled_round: int
) -> int:
    """The round whose reply stands once the hotline centre has reviewed one.

    A reply sent back no longer counts as the round's reply: the department must reply
    again, so the handling clock (and its warnings) runs again against the same deadline.
    An approval of the order's round stops the clock, whoever replied: feedback takes no
    other reply in a round with an approved one, so a lead given the order before dispatch
    heard of that reply (in the same round) has nothing left to reply. Any other review of a
    round or a lead the order has left changes nothing."""
    if order is None or not order.is_open or reviewed.round != order.round:
        return handled_round
    if reviewed.decision == "approved":
        return max(handled_round, reviewed.round)
    if reviewed.department != order.department:
        return handled_round
    return min(handled_round, reviewed.round - 1)
