"""The work order: every decision dispatch makes, and how its facts fold into state.

Pure: no I/O, no clock. Each decision takes the current state and a `Meta` (who, when,
which fact caused it, fresh ids) and returns the new facts, or raises a domain error that
says why the transition is impossible.
"""

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, TypeVar
from uuid import UUID

from dispatch_service import routing, sla
from dispatch_service.workdays import WorkdayCalendar
from shared import events
from shared.errors import InvalidTransitionError, NotFoundError, NotPermittedError

Stage = Literal["assigned", "signed_for", "return_requested", "closed"]
OPEN_STAGES: frozenset[Stage] = frozenset({"assigned", "signed_for", "return_requested"})
E = TypeVar("E", bound=events.Event)


@dataclass(frozen=True, slots=True)
class Meta:
    actor: str
    now: datetime
    new_id: Callable[[], UUID]
    causation_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class WorkOrder:
    appeal_id: UUID
    correlation_id: UUID
    department: str
    assisting: tuple[str, ...]
    stage: Stage
    deadlines: events.Deadlines
    assigned_at: datetime  # when the current lead got it: the return window runs from here
    appeal_type: str
    urgency: str
    category: str
    district: str | None
    round: int = 1
    stage_before_return: Stage | None = None
    pending_extension: int | None = None  # working days asked for, awaiting a decision
    signalled: frozenset[tuple[str, str, datetime]] = field(default_factory=frozenset)

    @property
    def is_open(self) -> bool:
        return self.stage in OPEN_STAGES


def _fact(cls: type[E], order: WorkOrder, meta: Meta, **fields: Any) -> E:
    return cls(
        id=meta.new_id(),
        subject=order.appeal_id,
        time=meta.now,
        actor=meta.actor,
        causation_id=meta.causation_id,
        correlation_id=order.correlation_id,
        **fields,
    )


def _open(order: WorkOrder | None) -> WorkOrder:
    if order is None:
        raise NotFoundError("no work order for this appeal")
    if not order.is_open:
        raise InvalidTransitionError(f"the work order is {order.stage}")
    return order


def _lead(order: WorkOrder | None, department: str | None) -> WorkOrder:
    order = _open(order)
    if department != order.department:
        raise NotPermittedError(
            f"the work order is held by {order.department}, "
            f"not by {department or 'a caller without a department'}"
        )
    return order


# --- assignment ------------------------------------------------------------------------


def assign(
    received: events.AppealReceived,
    table: routing.RoutingTable,
    policy: sla.SlaPolicy,
    calendar: WorkdayCalendar,
    meta: Meta,
) -> list[events.Event]:
    rule = routing.route(table, category=received.category, district=received.location.district)
    return [
        events.Assigned(
            id=meta.new_id(),
            subject=received.subject,
            time=meta.now,
            actor=meta.actor,
            causation_id=received.id,
            correlation_id=received.correlation_id,
            department=rule.department,
            assisting=rule.assisting,
            routing_rule=rule.rule_id,
            routing_version=table.version,
            category=received.category,
            district=received.location.district,
            appeal_type=received.appeal_type,
            urgency=received.urgency,
            deadlines=sla.deadlines(
                policy,
                calendar,
                appeal_type=received.appeal_type,
                urgency=received.urgency,
                start=meta.now,
            ),
        )
    ]


def _redispatch(
    order: WorkOrder,
    department: str,
    assisting: tuple[str, ...],
    reason: str,
    rule: str,
    routing_version: int,
    policy: sla.SlaPolicy,
    calendar: WorkdayCalendar,
    meta: Meta,
) -> events.Redispatched:
    if department == order.department:
        raise InvalidTransitionError(f"the work order is already with {department}")
    return _fact(
        events.Redispatched,
        order,
        meta,
        department=department,
        assisting=assisting,
        previous_department=order.department,
        routing_rule=rule,
        routing_version=routing_version,
        reason=reason,
        deadlines=sla.deadlines(
            policy, calendar, appeal_type=order.appeal_type, urgency=order.urgency, start=meta.now
        ),
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
    meta: Meta,
) -> list[events.Event]:
    """An operator overrides the routing: a new lead with fresh clocks."""
    order = _open(order)
    if order.stage == "return_requested":
        raise InvalidTransitionError("a return is pending: arbitrate it instead")
    return [
        _redispatch(
            order,
            department,
            assisting,
            reason,
            routing.OPERATOR_RULE,
            routing_version,
            policy,
            calendar,
            meta,
        )
    ]


# --- the department's actions ------------------------------------------------------------


def sign_for(
    order: WorkOrder | None, *, department: str | None, person: str, meta: Meta
) -> list[events.Event]:
    order = _lead(order, department)
    if order.stage != "assigned":
        raise InvalidTransitionError(f"the work order is {order.stage}, not awaiting sign-for")
    return [_fact(events.SignedFor, order, meta, department=order.department, person=person)]


def request_return(
    order: WorkOrder | None,
    *,
    department: str | None,
    reason_code: str,
    legal_basis: str,
    explanation: str | None,
    policy: sla.SlaPolicy,
    calendar: WorkdayCalendar,
    meta: Meta,
) -> list[events.Event]:
    order = _lead(order, department)
    if order.stage == "return_requested":
        raise InvalidTransitionError("a return is already pending")
    window_ends = sla.due(policy, calendar, order.assigned_at, policy.return_window)
    if meta.now > window_ends:
        raise InvalidTransitionError(f"the return window closed at {window_ends.isoformat()}")
    return [
        _fact(
            events.ReturnRequested,
            order,
            meta,
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
    meta: Meta,
) -> list[events.Event]:
    order = _lead(order, department)
    if order.stage != "signed_for":
        raise InvalidTransitionError("only a signed-for work order can be extended")
    if order.pending_extension is not None:
        raise InvalidTransitionError("an extension request is already pending")
    if meta.now >= order.deadlines.handle_due:
        raise InvalidTransitionError("an extension must be asked for before the deadline")
    if working_days > policy.max_extension_days:
        raise InvalidTransitionError(
            f"at most {policy.max_extension_days} working days may be asked for"
        )
    return [
        _fact(
            events.ExtensionRequested,
            order,
            meta,
            department=order.department,
            working_days=working_days,
            reason=reason,
            legal_basis=legal_basis,
        )
    ]


def contribute(
    order: WorkOrder | None, *, department: str | None, content: str, meta: Meta
) -> list[events.Event]:
    order = _open(order)
    if department not in order.assisting:
        raise NotPermittedError(f"{department} is not an assisting department of this order")
    return [_fact(events.AssistContributed, order, meta, department=department, content=content)]


# --- the hotline centre's actions ----------------------------------------------------------


def approve_return(
    order: WorkOrder | None,
    *,
    department: str,
    assisting: tuple[str, ...],
    reasoning: str,
    routing_version: int,
    policy: sla.SlaPolicy,
    calendar: WorkdayCalendar,
    meta: Meta,
) -> list[events.Event]:
    order = _open(order)
    if order.stage != "return_requested":
        raise InvalidTransitionError("no return is pending")
    return [
        _fact(events.ReturnApproved, order, meta, department=order.department, reasoning=reasoning),
        _redispatch(
            order,
            department,
            assisting,
            reasoning,
            routing.OPERATOR_RULE,
            routing_version,
            policy,
            calendar,
            meta,
        ),
    ]


def deny_return(order: WorkOrder | None, *, reasoning: str, meta: Meta) -> list[events.Event]:
    order = _open(order)
    if order.stage != "return_requested":
        raise InvalidTransitionError("no return is pending")
    return [
        _fact(events.ReturnDenied, order, meta, department=order.department, reasoning=reasoning)
    ]


def approve_extension(
    order: WorkOrder | None, *, policy: sla.SlaPolicy, calendar: WorkdayCalendar, meta: Meta
) -> list[events.Event]:
    order = _open(order)
    if order.pending_extension is None:
        raise InvalidTransitionError("no extension request is pending")
    return [
        _fact(
            events.ExtensionApproved,
            order,
            meta,
            department=order.department,
            working_days=order.pending_extension,
            previous_handle_due=order.deadlines.handle_due,
            deadlines=sla.extended(
                policy, calendar, order.deadlines, order.pending_extension, now=meta.now
            ),
        )
    ]


def deny_extension(order: WorkOrder | None, *, reasoning: str, meta: Meta) -> list[events.Event]:
    order = _open(order)
    if order.pending_extension is None:
        raise InvalidTransitionError("no extension request is pending")
    return [
        _fact(events.ExtensionDenied, order, meta, department=order.department, reasoning=reasoning)
    ]


def supervise(
    order: WorkOrder | None,
    *,
    level: Literal["reminder", "supervision", "escalation"],
    note: str,
    meta: Meta,
) -> list[events.Event]:
    order = _open(order)
    return [
        _fact(events.Supervised, order, meta, department=order.department, level=level, note=note)
    ]


def close(order: WorkOrder | None, *, note: str, meta: Meta) -> list[events.Event]:
    order = _open(order)
    return [_fact(events.Closed, order, meta, basis="operator", note=note)]


# --- reactions ------------------------------------------------------------------------------


def on_rated(
    order: WorkOrder | None,
    rated: events.Rated,
    *,
    policy: sla.SlaPolicy,
    calendar: WorkdayCalendar,
    meta: Meta,
) -> list[events.Event]:
    """Satisfied closes the loop; dissatisfied sends it back to the same department for a
    redo with fresh clocks (重办)."""
    if order is None or not order.is_open:
        return []
    if rated.satisfaction == "dissatisfied":
        return [
            _fact(
                events.RedoOrdered,
                order,
                meta,
                department=order.department,
                round=order.round + 1,
                reason=rated.comment or "the citizen was dissatisfied",
                deadlines=sla.deadlines(
                    policy,
                    calendar,
                    appeal_type=order.appeal_type,
                    urgency=order.urgency,
                    start=meta.now,
                ),
            )
        ]
    return [_fact(events.Closed, order, meta, basis="rated_satisfied")]


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


def due_signals(order: WorkOrder | None, *, handled: bool, meta: Meta) -> list[events.Event]:
    """Warnings and overdue marks whose time has come."""
    if order is None:
        return []
    return [
        _fact(kind, order, meta, department=order.department, clock=clock, due=due)
        for kind, clock, fires_at, due in _marks(order, handled=handled)
        if meta.now >= fires_at
    ]


def next_signal_at(order: WorkOrder, *, handled: bool) -> datetime | None:
    """When `due_signals` will next have something to say (the timer's index)."""
    return min((fires_at for _, _, fires_at, _ in _marks(order, handled=handled)), default=None)


# --- folding facts into state ---------------------------------------------------------------


def evolve(state: WorkOrder | None, event: events.Event) -> WorkOrder | None:
    match event:
        case events.Assigned():
            return WorkOrder(
                appeal_id=event.subject,
                correlation_id=event.correlation_id,
                department=event.department,
                assisting=event.assisting,
                stage="assigned",
                deadlines=event.deadlines,
                assigned_at=event.time,
                appeal_type=event.appeal_type,
                urgency=event.urgency,
                category=event.category,
                district=event.district,
            )
    if state is None:
        return None
    match event:
        case events.Redispatched():
            return replace(
                state,
                department=event.department,
                assisting=event.assisting,
                stage="assigned",
                deadlines=event.deadlines,
                assigned_at=event.time,
                stage_before_return=None,
                pending_extension=None,
            )
        case events.SignedFor():
            return replace(state, stage="signed_for")
        case events.ReturnRequested():
            return replace(state, stage="return_requested", stage_before_return=state.stage)
        case events.ReturnDenied():
            return replace(
                state, stage=state.stage_before_return or "assigned", stage_before_return=None
            )
        case events.ExtensionRequested():
            return replace(state, pending_extension=event.working_days)
        case events.ExtensionApproved():
            return replace(state, deadlines=event.deadlines, pending_extension=None)
        case events.ExtensionDenied():
            return replace(state, pending_extension=None)
        case events.DeadlineWarned() | events.DeadlineMissed():
            mark = (type(event).__name__, event.clock, event.due)
            return replace(state, signalled=state.signalled | {mark})
        case events.RedoOrdered():
            return replace(
                state,
                stage="assigned",
                round=event.round,
                deadlines=event.deadlines,
                assigned_at=event.time,
                pending_extension=None,
            )
        case events.Closed():
            return replace(state, stage="closed")
    return state
