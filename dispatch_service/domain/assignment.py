"""Assignment and reassignment: who leads, who assists, and the clocks they start."""

from dispatch_service.domain import assists, routing, sla
from dispatch_service.domain.state import WorkOrder, fact, open_order
from shared import events
from shared.decisions import Context
from shared.errors import InvalidTransitionError
from shared.workdays import WorkdayCalendar


def assign(
    order: WorkOrder | None,
    forwarded: events.AppealForwarded,
    *,
    table: routing.RoutingTable,
    policy: sla.SlaPolicy,
    calendar: WorkdayCalendar,
    context: Context,
) -> list[events.Event]:
    """Route what the front office forwarded, with its classification; the clocks that
    count from receipt run from when intake received the appeal, not from forwarding.
    An appeal is assigned once: a later forward of it is refused, not routed again."""
    if order is not None:
        raise InvalidTransitionError(f"the work order is already with {order.department}")
    rule = routing.route(
        table,
        category=forwarded.category,
        district=forwarded.district,
        avoid=forwarded.about_department,
    )
    assigned = events.Assigned(
        id=context.new_id(),
        subject=forwarded.subject,
        time=context.now,
        actor=context.actor,
        causation_id=forwarded.id,
        correlation_id=forwarded.correlation_id,
        department=rule.department,
        assisting=rule.assisting,
        routing_rule=rule.rule_id,
        routing_version=table.version,
        category=forwarded.category,
        district=forwarded.district,
        appeal_type=forwarded.appeal_type,
        urgency=forwarded.urgency,
        about_department=forwarded.about_department,
        deadlines=sla.deadlines(
            policy,
            calendar,
            appeal_type=forwarded.appeal_type,
            urgency=forwarded.urgency,
            category=forwarded.category,
            start=context.now,
            received_at=forwarded.received_at,
        ),
    )
    return [
        assigned,
        *assists.ask_after(assigned, policy=policy, calendar=calendar, context=context),
    ]


def redispatch(
    order: WorkOrder,
    department: str,
    *,
    assisting: tuple[str, ...],
    reason: str,
    rule: str,
    routing_version: int,
    policy: sla.SlaPolicy,
    calendar: WorkdayCalendar,
    replied: bool,
    context: Context,
) -> events.Redispatched:
    """A new lead with fresh clocks. If the lead before replied in this round, the new one
    begins the next: feedback takes one reply (and one rating) a round, and dispatch's clock
    runs until the holder replied in its round."""
    if department == order.department:
        raise InvalidTransitionError(f"the work order is already with {department}")
    if order.about_department in (department, *assisting):
        # The department complained about must not handle, or even see, the complaint.
        raise InvalidTransitionError(
            f"the appeal is a conduct complaint about {order.about_department}: "
            "it can never hold or assist on it"
        )
    return fact(
        events.Redispatched,
        order,
        context=context,
        department=department,
        assisting=assisting,
        previous_department=order.department,
        routing_rule=rule,
        routing_version=routing_version,
        reason=reason,
        deadlines=sla.deadlines(
            policy,
            calendar,
            appeal_type=order.appeal_type,
            urgency=order.urgency,
            category=order.category,
            start=context.now,
        ),
        round=order.round + 1 if replied else None,
    )


def reassign(
    order: WorkOrder | None,
    *,
    department: str,
    assisting: tuple[str, ...],
    reason: str,
    routing_version: int,
    policy: sla.SlaPolicy,
    calendar: WorkdayCalendar,
    replied: bool,
    context: Context,
) -> list[events.Event]:
    """An operator overrides the routing: a new lead with fresh clocks (an escalated order
    included: the centre's way to give it to another department)."""
    order = open_order(order)
    if order.stage == "return_requested":
        raise InvalidTransitionError("a return is pending: arbitrate it instead")
    moved = redispatch(
        order,
        department,
        assisting=assisting,
        reason=reason,
        rule=routing.OPERATOR_RULE,
        routing_version=routing_version,
        policy=policy,
        calendar=calendar,
        replied=replied,
        context=context,
    )
    return [moved, *assists.ask_after(moved, policy=policy, calendar=calendar, context=context)]
