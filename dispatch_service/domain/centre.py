"""What the hotline centre decides: arbitration, extensions, supervision, redo and closure."""

from typing import Literal

from dispatch_service.domain import assists, routing, sla
from dispatch_service.domain.assignment import redispatch
from dispatch_service.domain.state import WorkOrder, fact, open_order
from shared import events
from shared.decisions import Context
from shared.errors import InvalidTransitionError
from shared.workdays import WorkdayCalendar


def approve_return(
    order: WorkOrder | None,
    *,
    department: str,
    assisting: tuple[str, ...],
    reasoning: str,
    routing_version: int,
    policy: sla.SlaPolicy,
    calendar: WorkdayCalendar,
    replied: bool,
    context: Context,
) -> list[events.Event]:
    order = open_order(order)
    if order.stage != "return_requested":
        raise InvalidTransitionError("no return is pending")
    moved = redispatch(
        order,
        department,
        assisting=assisting,
        reason=reasoning,
        rule=routing.OPERATOR_RULE,
        routing_version=routing_version,
        policy=policy,
        calendar=calendar,
        replied=replied,
        context=context,
    )
    return [
        fact(
            events.ReturnApproved,
            order,
            context=context,
            department=order.department,
            reasoning=reasoning,
        ),
        moved,
        *assists.ask_after(moved, policy=policy, calendar=calendar, context=context),
    ]


def deny_return(order: WorkOrder | None, *, reasoning: str, context: Context) -> list[events.Event]:
    order = open_order(order)
    if order.stage != "return_requested":
        raise InvalidTransitionError("no return is pending")
    return [
        fact(
            events.ReturnDenied,
            order,
            context=context,
            department=order.department,
            reasoning=reasoning,
        )
    ]


def approve_extension(
    order: WorkOrder | None, *, policy: sla.SlaPolicy, calendar: WorkdayCalendar, context: Context
) -> list[events.Event]:
    """The lead's handling deadline moves on; so does each assisting department's, where
    the lead's deadline capped it (as a recomputed calendar moves it)."""
    order = open_order(order)
    if order.pending_extension is None:
        raise InvalidTransitionError("no extension request is pending")
    deadlines = sla.extended(
        policy,
        calendar,
        current=order.deadlines,
        working_days=order.pending_extension,
        now=context.now,
    )
    approved = fact(
        events.ExtensionApproved,
        order,
        context=context,
        department=order.department,
        working_days=order.pending_extension,
        previous_handle_due=order.deadlines.handle_due,
        deadlines=deadlines,
    )
    moved = assists.recompute(
        order, policy=policy, calendar=calendar, handle_due=deadlines.handle_due, context=context
    )
    return [approved, *moved]


def deny_extension(
    order: WorkOrder | None, *, reasoning: str, context: Context
) -> list[events.Event]:
    order = open_order(order)
    if order.pending_extension is None:
        raise InvalidTransitionError("no extension request is pending")
    return [
        fact(
            events.ExtensionDenied,
            order,
            context=context,
            department=order.department,
            reasoning=reasoning,
        )
    ]


def supervise(
    order: WorkOrder | None,
    *,
    level: Literal["reminder", "supervision", "escalation"],
    note: str,
    context: Context,
) -> list[events.Event]:
    order = open_order(order)
    return [
        fact(
            events.Supervised,
            order,
            context=context,
            department=order.department,
            level=level,
            note=note,
        )
    ]


def close(order: WorkOrder | None, *, note: str, context: Context) -> list[events.Event]:
    order = open_order(order)
    return [fact(events.Closed, order, context=context, basis="operator", note=note)]


def close_or_redo(
    order: WorkOrder | None,
    rated: events.Rated,
    *,
    policy: sla.SlaPolicy,
    calendar: WorkdayCalendar,
    context: Context,
) -> list[events.Event]:
    """Satisfied (or basically) closes the loop. Dissatisfied sends the order back to the
    same department for a redo with fresh clocks (重办) only on what the citizen said: the
    problem is not solved, or the department was at fault; otherwise it closes, recorded as
    dissatisfied. Past the policy's redo rounds the appeal goes to the centre instead."""
    # A rating of a round the order has left (a merged child's dissatisfaction may have
    # ordered the redo first) decides nothing.
    if order is None or not order.is_open or order.stage == "escalated":
        return []
    if rated.round != order.round:
        return []
    if rated.satisfaction != "dissatisfied":
        return [fact(events.Closed, order, context=context, basis="rated_satisfied")]
    if rated.solved and not rated.department_at_fault:
        return [fact(events.Closed, order, context=context, basis="rated_dissatisfied")]
    return _redo_or_escalate(order, rated, policy=policy, calendar=calendar, context=context)


def redo_for_merged_child(
    order: WorkOrder | None,
    rated: events.Rated,
    *,
    policy: sla.SlaPolicy,
    calendar: WorkdayCalendar,
    context: Context,
) -> list[events.Event]:
    """A merged child's citizen rated the parent's handling (并单: one problem, one work
    order, every caller called back). Their dissatisfaction reaches the parent's work order
    as the parent's own would: on the same grounds (unsolved, or the department at fault),
    for the round still open, bounded by the same redo rounds. A child never closes the
    parent (the parent's own citizen, or the centre, does), and once the parent's round is
    closed a child's verdict is measured (audit) but reopens nothing: no 12345 rule lets a
    closed order be redone by a later caller, who files anew instead."""
    if order is None or not order.is_open or order.stage == "escalated":
        return []
    if rated.round != order.round or rated.satisfaction != "dissatisfied":
        return []
    if rated.solved and not rated.department_at_fault:
        return []
    return _redo_or_escalate(order, rated, policy=policy, calendar=calendar, context=context)


def _redo_or_escalate(
    order: WorkOrder,
    rated: events.Rated,
    *,
    policy: sla.SlaPolicy,
    calendar: WorkdayCalendar,
    context: Context,
) -> list[events.Event]:
    redone = order.redos
    if redone >= policy.max_redo_rounds:
        return [
            fact(
                events.EscalatedToCentre,
                order,
                context=context,
                department=order.department,
                round=order.round,
                redo_rounds=redone,
                reason=_merged(rated, rated.comment)
                or "the citizen is still not served after every redo",
            )
        ]
    return [
        fact(
            events.RedoOrdered,
            order,
            context=context,
            department=order.department,
            round=order.round + 1,
            reason=_redo_reason(rated),
            deadlines=sla.deadlines(
                policy,
                calendar,
                appeal_type=order.appeal_type,
                urgency=order.urgency,
                category=order.category,
                start=context.now,
            ),
        )
    ]


def close_unrated(
    order: WorkOrder | None, not_rated: events.NotRated, *, context: Context
) -> list[events.Event]:
    """The rating window closed unrated: the loop ends, recorded as exactly that."""
    if order is None or not order.is_open or not_rated.round != order.round:
        return []
    return [fact(events.Closed, order, context=context, basis="not_rated")]


def _merged(rated: events.Rated, reason: str | None) -> str | None:
    # The child is named by the fact's cause (its rating), not in the text, which the
    # public feeds mask.
    if reason is None or rated.merged_into is None:
        return reason
    return f"a merged appeal's caller: {reason}"


def _redo_reason(rated: events.Rated) -> str:
    said = rated.comment or (
        "the citizen says the department was at fault"
        if rated.department_at_fault
        else "the citizen says the problem is not solved"
    )
    return _merged(rated, said) or said
