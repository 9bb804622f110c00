"""The citizen's verdict on an approved reply: callbacks (回访), ratings, and "not rated".

One rating per handling round. Every callback attempt is a fact; only the first one that
reaches the citizen before the round is settled sets its rating (`counted`), so calls that
go on until a "satisfied" stay visible to audit instead of replacing the first answer.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal
from uuid import UUID

from feedback_service.domain.state import Feedback, fact
from shared import events
from shared.decisions import Context
from shared.errors import InvalidTransitionError
from shared.personal_data import Sealed
from shared.workdays import HOTLINE_ZONE, WorkdayCalendar

DAY_ENDS_AT = time(18, 0)  # a callback due "on a working day" is due by its close of business


@dataclass(frozen=True, slots=True)
class Rating:
    satisfaction: events.Satisfaction
    solved: bool
    # The citizen's words, sealed under their key before the decision (the route seals).
    sealed_comment: Sealed | None = None
    department_at_fault: bool | None = None  # None: not asked
    attitude: events.Attitude | None = None


@dataclass(frozen=True, slots=True)
class Callback:
    """One callback attempt. A reached citizen gives satisfaction and solved (the route
    checks that they come together with `reached`)."""

    reached: bool
    satisfaction: events.Satisfaction | None = None
    solved: bool | None = None
    sealed_comment: Sealed | None = None
    department_at_fault: bool | None = None
    attitude: events.Attitude | None = None


def callback_due(
    approved_at: datetime, calendar: WorkdayCalendar, *, working_days: int, hours: float | None
) -> datetime:
    """The close of business on the `working_days`-th working day after approval (Beijing),
    or, when the hotline's rule counts clock `hours` instead, that long after approval."""
    if hours is not None:
        return approved_at + timedelta(hours=hours)
    local = approved_at.astimezone(HOTLINE_ZONE)
    day = calendar.add_workdays(local.date(), working_days)
    return datetime.combine(day, DAY_ENDS_AT, HOTLINE_ZONE).astimezone(approved_at.tzinfo)


def window_still_open(state: Feedback, now: datetime) -> bool:
    """A callback attempt of the unsettled round is still due after `now`: "not rated" must
    wait until it was made, or was due."""
    return not state.settled and state.callback_due is not None and state.callback_due > now


def _approved(state: Feedback, appeal_id: UUID) -> Feedback:
    if state.handled_event_id is None:
        raise InvalidTransitionError(f"appeal {appeal_id} has no reply to rate yet")
    if not state.approved:
        raise InvalidTransitionError(
            f"the reply of round {state.handled_round} to appeal {appeal_id} "
            "has not been approved yet"
        )
    return state


def _rated(
    state: Feedback,
    rating: Rating,
    *,
    appeal_id: UUID,
    context: Context,
    causation_id: UUID | None,
    via: Literal["api", "link", "callback"],
) -> events.Rated:
    return fact(
        events.Rated,
        state,
        appeal_id=appeal_id,
        context=context,
        round=state.handled_round,
        causation_id=causation_id,
        via=via,
        satisfaction=rating.satisfaction,
        solved=rating.solved,
        sealed_comment=rating.sealed_comment,
        department_at_fault=rating.department_at_fault,
        attitude=rating.attitude,
    )


def rate(
    state: Feedback,
    rating: Rating,
    *,
    appeal_id: UUID,
    context: Context,
    via: Literal["api", "link"] = "api",
    for_round: int | None = None,
) -> list[events.Event]:
    """One rating per handling round, once the round's reply was approved. `for_round`: the
    round the citizen was asked about (a rating link's), refused once a redo superseded it."""
    if for_round is not None and state.handled_round != for_round:
        raise InvalidTransitionError(
            f"this rating link is for round {for_round}, which has been superseded"
        )
    state = _approved(state, appeal_id)
    if state.settled:
        raise InvalidTransitionError(
            f"appeal {appeal_id} was already rated in round {state.handled_round}, "
            "or its rating window closed"
        )
    return [
        _rated(
            state,
            rating,
            appeal_id=appeal_id,
            context=context,
            causation_id=state.handled_event_id,
            via=via,
        )
    ]


def call_back(
    state: Feedback,
    call: Callback,
    *,
    appeal_id: UUID,
    max_attempts: int,
    retry_after: timedelta,
    context: Context,
) -> list[events.Event]:
    """Record a callback attempt on the approved round.

    - reached, round not yet settled: counted; the round's rating follows (`appeal.rated`);
    - not reached: the next attempt falls due `retry_after` later, and the `max_attempts`-th
      failure settles the round as not rated (unreachable), never as a silent "satisfied";
    - round already settled: recorded all the same, not counted.
    """
    state = _approved(state, appeal_id)
    settled = state.settled
    counted = call.reached and not settled
    exhausted = not call.reached and not settled and state.failed_callbacks + 1 >= max_attempts
    retry = not call.reached and not settled and not exhausted
    made = fact(
        events.CallbackMade,
        state,
        appeal_id=appeal_id,
        context=context,
        causation_id=state.approved_event_id,
        round=state.handled_round,
        attempt=state.callbacks + 1,
        counted=counted,
        next_attempt_due=context.now + retry_after if retry else None,
        reached=call.reached,
        satisfaction=call.satisfaction,
        solved=call.solved,
        sealed_comment=call.sealed_comment,
        department_at_fault=call.department_at_fault,
        attitude=call.attitude,
    )
    if counted:
        assert call.satisfaction is not None, "the route requires it when reached"
        assert call.solved is not None
        rating = Rating(
            satisfaction=call.satisfaction,
            solved=call.solved,
            sealed_comment=call.sealed_comment,
            department_at_fault=call.department_at_fault,
            attitude=call.attitude,
        )
        rated = _rated(
            state,
            rating,
            appeal_id=appeal_id,
            context=context,
            causation_id=made.id,
            via="callback",
        )
        return [made, rated]
    if exhausted:
        not_rated = fact(
            events.NotRated,
            state,
            appeal_id=appeal_id,
            context=context,
            round=state.handled_round,
            causation_id=made.id,
            window_closed_at=context.now,
            reason="unreachable",
        )
        return [made, not_rated]
    return [made]


def expire_rating(
    state: Feedback,
    *,
    round_: int,
    window_closed_at: datetime,
    appeal_id: UUID,
    context: Context,
) -> list[events.Event]:
    """The rating window of `round_` closed: record "not rated", unless the round was rated
    meanwhile, a later round superseded it, or a callback attempt is still due (the window
    then stays open until it is, see `window_still_open`)."""
    if state.handled_round != round_ or state.settled or state.correlation_id is None:
        return []
    if window_still_open(state, context.now):
        return []
    return [
        fact(
            events.NotRated,
            state,
            appeal_id=appeal_id,
            context=context,
            causation_id=state.handled_event_id,
            round=round_,
            window_closed_at=window_closed_at,
        )
    ]
