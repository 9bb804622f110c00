"""The work order's state, how facts fold into it, and what every decision shares."""

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, TypeVar
from uuid import UUID

from shared import events
from shared.decisions import Context
from shared.errors import InvalidTransitionError, NotFoundError, NotPermittedError

# "escalated": past the redo rounds the policy allows, the centre holds it (close or reassign)
Stage = Literal["assigned", "signed_for", "return_requested", "escalated", "closed"]
OPEN_STAGES: frozenset[Stage] = frozenset(
    {"assigned", "signed_for", "return_requested", "escalated"}
)
E = TypeVar("E", bound=events.Event)


@dataclass(frozen=True, slots=True)
class Assist:
    """An assisting department's part (协办) in the current holding: asked by `due`."""

    department: str
    asked_at: datetime
    due: datetime
    contributed_at: datetime | None = None  # the first contribution
    overdue: bool = False  # its deadline passed with nothing contributed (a recorded mark)
    # Years `due` was counted across on weekdays: recomputed once one is published.
    provisional_years: tuple[int, ...] = ()
    warn_at: datetime | None = None  # its warning mark (None: an ask recorded without one)
    warned_due: datetime | None = None  # the deadline its warning was recorded for

    @property
    def state(self) -> Literal["asked", "contributed", "overdue"]:
        if self.contributed_at is not None:
            return "contributed"
        return "overdue" if self.overdue else "asked"


@dataclass(frozen=True, slots=True)
class WorkOrder:
    appeal_id: UUID
    correlation_id: UUID
    department: str
    assisting: tuple[str, ...]
    stage: Stage
    deadlines: events.Deadlines
    assigned_at: datetime  # when the current deadlines began: the lead got it, or a redo
    appeal_type: str
    urgency: str
    category: str
    district: str | None
    round: int = 1  # one reply and one rating each: a redo, or a new lead after a reply
    redos: int = 0  # redo rounds ordered: what the policy bounds
    stage_before_return: Stage | None = None
    pending_extension: int | None = None  # working days asked for, awaiting a decision
    # Extensions approved in this holding, (when, working days): a recomputation of the
    # deadlines replays them on the new calendar.
    extensions: tuple[tuple[datetime, int], ...] = ()
    extended_days_total: int = 0  # every approved extension of the appeal, in working days
    signalled: frozenset[tuple[str, str, datetime]] = field(default_factory=frozenset)
    about_department: str | None = None  # a conduct complaint's: never to hold or assist
    assists: tuple[Assist, ...] = ()  # this holding's assisting departments, each on its clock
    # When the current lead got the order (a redo does not move it): the return window runs
    # from here. None: a state folded before the field, where assigned_at is the same.
    held_since: datetime | None = None

    def assist(self, department: str) -> Assist | None:
        return next((a for a in self.assists if a.department == department), None)

    @property
    def is_open(self) -> bool:
        return self.stage in OPEN_STAGES


def fact(cls: type[E], order: WorkOrder, *, context: Context, **fields: Any) -> E:
    return cls(
        id=context.new_id(),
        subject=order.appeal_id,
        time=context.now,
        actor=context.actor,
        causation_id=context.causation_id,
        correlation_id=order.correlation_id,
        **fields,
    )


def open_order(order: WorkOrder | None) -> WorkOrder:
    if order is None:
        raise NotFoundError("no work order for this appeal")
    if not order.is_open:
        raise InvalidTransitionError(f"the work order is {order.stage}")
    return order


def held_by(order: WorkOrder | None, department: str | None) -> WorkOrder:
    order = open_order(order)
    if department != order.department:
        raise NotPermittedError(
            f"the work order is held by {order.department}, "
            f"not by {department or 'a caller without a department'}"
        )
    return order


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
                held_since=event.time,
                appeal_type=event.appeal_type,
                urgency=event.urgency,
                category=event.category,
                district=event.district,
                about_department=event.about_department,
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
                held_since=event.time,
                round=event.round or state.round,
                stage_before_return=None,
                pending_extension=None,
                extensions=(),
                assists=(),  # the new holding asks its own (appeal.assist_requested follows)
            )
        case events.AssistRequested():
            asked = Assist(
                event.department,
                asked_at=event.time,
                due=event.due,
                provisional_years=event.provisional_years,
                warn_at=event.warn_at,
            )
            kept = tuple(a for a in state.assists if a.department != event.department)
            return replace(state, assists=(*kept, asked))
        case events.AssistDeadlineRecomputed():
            return replace(
                state,
                assists=tuple(
                    replace(
                        a,
                        due=event.due,
                        provisional_years=event.provisional_years,
                        warn_at=event.warn_at,
                    )
                    if a.department == event.department
                    else a
                    for a in state.assists
                ),
            )
        case events.AssistWarned():
            return replace(
                state,
                assists=tuple(
                    replace(a, warned_due=event.due) if a.department == event.department else a
                    for a in state.assists
                ),
            )
        case events.AssistContributed() | events.AssistOverdue():
            return replace(state, assists=tuple(_assist_after(a, event) for a in state.assists))
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
            return replace(
                state,
                deadlines=event.deadlines,
                pending_extension=None,
                extensions=(*state.extensions, (event.time, event.working_days)),
                extended_days_total=state.extended_days_total + event.working_days,
            )
        case events.DeadlinesRecomputed():
            return replace(state, deadlines=event.deadlines)
        case events.ExtensionDenied():
            return replace(state, pending_extension=None)
        case events.DeadlineWarned() | events.DeadlineMissed():
            mark = (type(event).__name__, event.clock, event.due)
            return replace(state, signalled=state.signalled | {mark})
        case events.RedoOrdered():
            # A return asked for and not yet arbitrated stays pending through the redo: every
            # return is approved or denied by the centre, and denied goes to the redo.
            pending = state.stage == "return_requested"
            return replace(
                state,
                stage="return_requested" if pending else "assigned",
                stage_before_return="assigned" if pending else None,
                round=event.round,
                redos=state.redos + 1,
                deadlines=event.deadlines,
                assigned_at=event.time,
                pending_extension=None,
                extensions=(),
            )
        case events.EscalatedToCentre():
            return replace(state, stage="escalated", pending_extension=None)
        case events.Closed() | events.Withdrawn():
            return replace(state, stage="closed")
    return state


def _assist_after(assist: Assist, event: events.AssistContributed | events.AssistOverdue) -> Assist:
    if assist.department != event.department:
        return assist
    if isinstance(event, events.AssistOverdue):
        return replace(assist, overdue=True)
    return replace(assist, contributed_at=assist.contributed_at or event.time)
