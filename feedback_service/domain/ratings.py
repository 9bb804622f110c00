"""The citizen's verdict on an approved reply: callbacks (回访), ratings, and "not rated".

One rating per handling round. Every callback attempt is a fact; only the first one that
reaches the citizen before the round is settled sets its rating (`counted`), so calls that
go on until a "satisfied" stay visible to audit instead of replacing the first answer.
"""

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from feedback_service.domain.state import Feedback, fact
from shared import events
from shared.errors import InvalidTransitionError
from shared.workdays import HOTLINE_ZONE, WorkdayCalendar

DAY_ENDS_AT = time(18, 0)  # a callback due "on a working day" is due by its close of business


class Rating(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    satisfaction: events.Satisfaction
    solved: bool
    comment: str | None = Field(default=None, max_length=2000)


class Callback(BaseModel):
    """One callback attempt. A reached citizen gives satisfaction and solved (the route
    checks that they come together with `reached`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    reached: bool
    satisfaction: events.Satisfaction | None = None
    solved: bool | None = None
    comment: str | None = Field(default=None, max_length=2000)


def callback_due(approved_at: datetime, calendar: WorkdayCalendar, working_days: int) -> datetime:
    """The close of business on the `working_days`-th working day after approval (Beijing)."""
    local = approved_at.astimezone(HOTLINE_ZONE)
    day = calendar.add_workdays(local.date(), working_days)
    return datetime.combine(day, DAY_ENDS_AT, HOTLINE_ZONE).astimezone(approved_at.tzinfo)


def _approved(state: Feedback, appeal_id: UUID) -> Feedback:
    if state.handled_event_id is None:
        raise InvalidTransitionError(f"appeal {appeal_id} has no reply to rate yet")
    if not state.approved:
        raise InvalidTransitionError(
            f"the reply of round {state.handled_round} to appeal {appeal_id} "
            "has not been approved yet"
        )
    return state


def rate(
    state: Feedback,
    rating: Rating,
    *,
    appeal_id: UUID,
    actor: str,
    event_id: UUID,
    now: datetime,
    via: Literal["api", "link"] = "api",
) -> list[events.Event]:
    """One rating per handling round, once the round's reply was approved."""
    state = _approved(state, appeal_id)
    if state.settled:
        raise InvalidTransitionError(
            f"appeal {appeal_id} was already rated in round {state.handled_round}, "
            "or its rating window closed"
        )
    return [
        fact(
            events.Rated,
            state,
            appeal_id=appeal_id,
            id=event_id,
            time=now,
            actor=actor,
            round=state.handled_round,
            causation_id=state.handled_event_id,
            via=via,
            **rating.model_dump(),
        )
    ]


def call_back(
    state: Feedback,
    call: Callback,
    *,
    appeal_id: UUID,
    max_attempts: int,
    retry_after: timedelta,
    actor: str,
    new_id: Callable[[], UUID],
    now: datetime,
) -> list[events.Event]:
    """Record a callback attempt on the approved round.

    - reached, round not yet settled: counted; the round's rating follows (`appeal.rated`);
    - not reached: the next attempt falls due `retry_after` later, and the `max_attempts`-th
      failure settles the round as not rated (unreachable), never as a silent "satisfied";
    - round already settled: recorded all the same, not counted.
    """
    state = _approved(state, appeal_id)
    round_, settled = state.handled_round, state.settled
    counted = call.reached and not settled
    exhausted = not call.reached and not settled and state.failed_callbacks + 1 >= max_attempts
    retry = not call.reached and not settled and not exhausted
    made = fact(
        events.CallbackMade,
        state,
        appeal_id=appeal_id,
        id=new_id(),
        time=now,
        actor=actor,
        causation_id=state.approved_event_id,
        round=round_,
        attempt=state.callbacks + 1,
        counted=counted,
        next_attempt_due=now + retry_after if retry else None,
        **call.model_dump(),
    )
    if counted:
        assert call.satisfaction is not None, "the route requires it when reached"
        assert call.solved is not None
        rated = Rating(satisfaction=call.satisfaction, solved=call.solved, comment=call.comment)
        return [
            made,
            fact(
                events.Rated,
                state,
                appeal_id=appeal_id,
                id=new_id(),
                time=now,
                actor=actor,
                round=round_,
                causation_id=made.id,
                via="callback",
                **rated.model_dump(),
            ),
        ]
    if exhausted:
        return [
            made,
            fact(
                events.NotRated,
                state,
                appeal_id=appeal_id,
                id=new_id(),
                time=now,
                actor=actor,
                round=round_,
                causation_id=made.id,
                window_closed_at=now,
                reason="unreachable",
            ),
        ]
    return [made]


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
    if state.handled_round != round_ or state.settled or state.correlation_id is None:
        return []
    return [
        fact(
            events.NotRated,
            state,
            appeal_id=appeal_id,
            id=event_id,
            time=now,
            actor=actor,
            causation_id=state.handled_event_id,
            round=round_,
            window_closed_at=window_closed_at,
        )
    ]
