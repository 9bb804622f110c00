"""Replies and ratings for one appeal, one handling round at a time. Pure: no I/O; time and
ids passed in."""

from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared import events
from shared.errors import InvalidTransitionError, NotPermittedError


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds the work order and in which round, as dispatch's facts say."""

    department: str
    cause_id: UUID  # the dispatch fact that put the order in this department's hands
    correlation_id: UUID
    round: int = 1
    signed_for: bool = False


@dataclass(frozen=True, slots=True)
class Feedback:
    handled_round: int = 0  # the last round with a reply
    handled_by: str | None = None
    handled_event_id: UUID | None = None
    correlation_id: UUID | None = None
    rated_round: int = 0


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
    """Only the department holding the work order may reply, after signing for it, once per
    handling round."""
    if holder is None:
        raise InvalidTransitionError(f"appeal {appeal_id} has not been assigned to a department")
    if department != holder.department:
        raise NotPermittedError(
            f"appeal {appeal_id} is held by {holder.department}, not by {department or actor}"
        )
    if not holder.signed_for:
        raise InvalidTransitionError(
            f"{holder.department} must sign for appeal {appeal_id} before replying"
        )
    if state.handled_round >= holder.round:
        raise InvalidTransitionError(
            f"appeal {appeal_id} already has a reply in round {holder.round}"
        )
    return [
        events.Handled(
            id=event_id,
            subject=appeal_id,
            time=now,
            actor=actor,
            causation_id=holder.cause_id,
            correlation_id=holder.correlation_id,
            department=holder.department,
            round=holder.round,
            **reply.model_dump(),
        )
    ]


def rate(
    state: Feedback, rating: Rating, *, appeal_id: UUID, actor: str, event_id: UUID, now: datetime
) -> list[events.Event]:
    """One rating per handling round, and only once the round has a reply."""
    if state.handled_event_id is None or state.correlation_id is None:
        raise InvalidTransitionError(f"appeal {appeal_id} has no reply to rate yet")
    if state.rated_round >= state.handled_round:
        raise InvalidTransitionError(
            f"appeal {appeal_id} was already rated in round {state.handled_round}, "
            "or its rating window closed"
        )
    return [
        events.Rated(
            id=event_id,
            subject=appeal_id,
            time=now,
            actor=actor,
            correlation_id=state.correlation_id,
            round=state.handled_round,
            causation_id=state.handled_event_id,
            **rating.model_dump(),
        )
    ]


def expire_rating(
    state: Feedback,
    *,
    round_: int,
    window_closed_at: datetime,
    appeal_id: UUID,
    actor: str,
    event_id: UUID,
    now: datetime,
) -> list[events.Event]:
    """The rating window of `round_` closed: record "not rated", unless the round was rated
    meanwhile or a later round superseded it."""
    if state.handled_round != round_ or state.rated_round >= round_ or state.correlation_id is None:
        return []
    return [
        events.NotRated(
            id=event_id,
            subject=appeal_id,
            time=now,
            actor=actor,
            correlation_id=state.correlation_id,
            causation_id=state.handled_event_id,
            round=round_,
            window_closed_at=window_closed_at,
        )
    ]


def evolve(state: Feedback, event: events.Event) -> Feedback:
    match event:
        case events.Handled():
            return replace(
                state,
                handled_round=event.round,
                handled_by=event.department,
                handled_event_id=event.id,
                correlation_id=event.correlation_id,
            )
        case events.Rated() | events.NotRated():
            return replace(state, rated_round=event.round)  # the round is settled
    return state
