"""What the lead (and assisting) departments may do with a work order."""

from dispatch_service.domain import sla
from dispatch_service.domain.state import WorkOrder, fact, held_by, open_order
from shared import events
from shared.decisions import Context
from shared.errors import InvalidTransitionError, NotPermittedError
from shared.workdays import WorkdayCalendar


def sign_for(
    order: WorkOrder | None, *, department: str | None, person: str, context: Context
) -> list[events.Event]:
    order = held_by(order, department)
    if order.stage != "assigned":
        raise InvalidTransitionError(f"the work order is {order.stage}, not awaiting sign-for")
    return [
        fact(events.SignedFor, order, context=context, department=order.department, person=person)
    ]


def request_return(
    order: WorkOrder | None,
    *,
    department: str | None,
    reason_code: str,
    legal_basis: str,
    explanation: str | None,
    policy: sla.SlaPolicy,
    calendar: WorkdayCalendar,
    replied: bool,
    context: Context,
) -> list[events.Event]:
    """Within the return window from when the department got the order (a redo does not
    reopen it), and only before it replied: a reply is the department acting on it."""
    order = held_by(order, department)
    if order.stage == "return_requested":
        raise InvalidTransitionError("a return is already pending")
    if replied:
        raise InvalidTransitionError(
            f"{order.department} has replied in round {order.round}: it cannot return it now"
        )
    start = order.held_since or order.assigned_at
    window_ends = sla.due(policy, calendar, start=start, limit=policy.return_window)
    if context.now > window_ends:
        raise InvalidTransitionError(f"the return window closed at {window_ends.isoformat()}")
    return [
        fact(
            events.ReturnRequested,
            order,
            context=context,
            department=order.department,
            reason_code=reason_code,
            legal_basis=legal_basis,
            explanation=explanation,
        )
    ]


def request_extension(
    order: WorkOrder | None,
    *,
    department: str | None,
    working_days: int,
    reason: str,
    legal_basis: str,
    policy: sla.SlaPolicy,
    context: Context,
) -> list[events.Event]:
    order = held_by(order, department)
    if order.stage != "signed_for":
        raise InvalidTransitionError("only a signed-for work order can be extended")
    if order.pending_extension is not None:
        raise InvalidTransitionError("an extension request is already pending")
    if context.now >= order.deadlines.handle_due:
        raise InvalidTransitionError("an extension must be asked for before the deadline")
    if working_days > policy.max_extension_days:
        raise InvalidTransitionError(
            f"at most {policy.max_extension_days} working days may be asked for"
        )
    left = policy.max_extension_days_total - order.extended_days_total
    if working_days > left:
        raise InvalidTransitionError(
            f"extensions of this appeal are capped at {policy.max_extension_days_total} "
            f"working days in all; {max(left, 0)} are left"
        )
    return [
        fact(
            events.ExtensionRequested,
            order,
            context=context,
            department=order.department,
            working_days=working_days,
            reason=reason,
            legal_basis=legal_basis,
        )
    ]


def contribute(
    order: WorkOrder | None, *, department: str | None, content: str, context: Context
) -> list[events.Event]:
    order = open_order(order)
    if department not in order.assisting:
        raise NotPermittedError(f"{department} is not an assisting department of this order")
    return [
        fact(
            events.AssistContributed, order, context=context, department=department, content=content
        )
    ]
