"""Replies and ratings for one appeal. Pure: no I/O; time and ids passed in."""

from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared import events
from shared.errors import InvalidTransitionError, NotPermittedError


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds the work order, as dispatch's latest assignment fact says."""

    department: str
    assigned_event_id: UUID
    correlation_id: UUID


@dataclass(frozen=True, slots=True)
class Feedback:
    handled_by: str | None = None
    handled_event_id: UUID | None = None
    correlation_id: UUID | None = None
    rated: bool = False


class Reply(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    result: events.HandlingResult
    reply: events.Text


class Rating(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    satisfaction: events.Satisfaction
    solved: bool
    comment: str | None = Field(default=None, max_length=2000)


def handle(
    state: Feedback,
    reply: Reply,
    *,
    appeal_id: UUID,
    holder: Holder | None,
    department: str | None,
    actor: str,
    event_id: UUID,
    now: datetime,
) -> list[events.Event]:
    """Only the department holding the work order may reply, once per handling round."""
    if holder is None:
        raise InvalidTransitionError(f"appeal {appeal_id} has not been assigned to a department")
    if department != holder.department:
        raise NotPermittedError(
            f"appeal {appeal_id} is held by {holder.department}, not by {department or actor}"
        )
    if state.handled_by is not None:
        raise InvalidTransitionError(f"appeal {appeal_id} already has a reply")
    return [
        events.Handled(
            id=event_id,
            subject=appeal_id,
            time=now,
            actor=actor,
            causation_id=holder.assigned_event_id,
            correlation_id=holder.correlation_id,
            department=holder.department,
            **reply.model_dump(),
        )
    ]


def rate(
    state: Feedback, rating: Rating, *, appeal_id: UUID, actor: str, event_id: UUID, now: datetime
) -> list[events.Event]:
    if state.handled_event_id is None or state.correlation_id is None:
        raise InvalidTransitionError(f"appeal {appeal_id} has no reply to rate yet")
    if state.rated:
        raise InvalidTransitionError(f"appeal {appeal_id} was already rated in this round")
    return [
        events.Rated(
            id=event_id,
            subject=appeal_id,
            time=now,
            actor=actor,
            correlation_id=state.correlation_id,
            causation_id=state.handled_event_id,
            **rating.model_dump(),
        )
    ]


def evolve(state: Feedback, event: events.Event) -> Feedback:
    match event:
        case events.Handled(department=department, id=event_id, correlation_id=correlation):
            return replace(
                state, handled_by=department, handled_event_id=event_id, correlation_id=correlation
            )
        case events.Rated():
            return replace(state, rated=True)
    return state
