"""The holding department's reply, and the hotline centre's review of it."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from feedback_service.domain.state import Feedback, Holder, ReviewOutcome, fact
from shared import events
from shared.decisions import Context
from shared.errors import InvalidTransitionError, NotFoundError, NotPermittedError


@dataclass(frozen=True, slots=True)
class Reply:
    """What the department did (the route validates lengths and counts)."""

    result: events.HandlingResult
    reply: str  # what was done; for "unsolvable", why it cannot be solved
    attachments: tuple[str, ...] = ()
    person: str | None = None


@dataclass(frozen=True, slots=True)
class ReviewDecision:
    decision: ReviewOutcome
    reason: str | None = None  # required when sending back (the route says so)


def handle(
    state: Feedback,
    reply: Reply,
    *,
    appeal_id: UUID,
    holder: Holder | None,
    department: str | None,
    context: Context,
) -> list[events.Event]:
    """Only the department holding the work order may reply, after signing for it, once per
    handling round; again only if the hotline centre sent its reply back.

    dispatch opens a new round for a new lead when it has heard the lead before replied. A
    lead changed before dispatch heard it keeps the round, so the reply already in it may be
    another department's: it stands in the new lead's way only once approved."""
    if department is not None and (holder is None or department != holder.department):
        # A department sees only what it holds: another's appeal is as good as absent (as in
        # dispatch), so no department learns which appeals exist or who holds them.
        raise NotFoundError(f"no appeal {appeal_id}")
    if holder is None:
        raise InvalidTransitionError(f"appeal {appeal_id} has not been assigned to a department")
    if department != holder.department:
        raise NotPermittedError(
            f"appeal {appeal_id} is held by {holder.department}, "
            f"not by {department or context.actor}"
        )
    if not holder.signed_for:
        raise InvalidTransitionError(
            f"{holder.department} must sign for appeal {appeal_id} before replying"
        )
    replied = state.handled_round >= holder.round and state.review != "sent_back"
    if replied and state.handled_by == holder.department:
        raise InvalidTransitionError(
            f"appeal {appeal_id} already has a reply in round {holder.round}"
        )
    if replied and state.approved_round >= holder.round:
        raise InvalidTransitionError(
            f"appeal {appeal_id} already has an approved reply in round {holder.round}, "
            f"by {state.handled_by}, from before {holder.department} took the lead"
        )
    return [
        events.Handled(
            id=context.new_id(),
            subject=appeal_id,
            time=context.now,
            actor=context.actor,
            causation_id=holder.cause_id,
            correlation_id=holder.correlation_id,
            department=holder.department,
            round=holder.round,
            result=reply.result,
            reply=reply.reply,
            attachments=reply.attachments,
            person=reply.person,
        )
    ]


def review(
    state: Feedback,
    decision: ReviewDecision,
    *,
    appeal_id: UUID,
    holder: Holder | None,
    callback_due: datetime,
    calendar: str,
    rating_window: timedelta,
    context: Context,
) -> list[events.Event]:
    """The hotline centre approves the latest reply (a callback falls due at `callback_due`,
    counted on the working-day `calendar` version) or sends it back with a reason (the
    department replies again). Each reply is reviewed once. An approval opens the rating
    window for `rating_window`, but never closes it before the callback is due: a round is
    not "not rated" while the hotline still owes the citizen the call. A reply whose round the
    work order has left (a new lead took it over in a round of its own) is not reviewed: the
    new lead replies, and that reply is the one the citizen is asked about. So is a reply
    whose department lost the lead in the same round (dispatch had not heard of the reply)."""
    if state.handled_event_id is None or state.handled_by is None:
        raise InvalidTransitionError(f"appeal {appeal_id} has no reply to review")
    if holder is not None and (
        holder.round > state.handled_round or holder.department != state.handled_by
    ):
        raise InvalidTransitionError(
            f"the reply of round {state.handled_round} to appeal {appeal_id} was superseded: "
            f"{holder.department} holds it in round {holder.round} and has not replied yet"
        )
    if state.review == "approved":
        raise InvalidTransitionError(
            f"the reply of round {state.handled_round} to appeal {appeal_id} was already approved"
        )
    if state.review == "sent_back":
        raise InvalidTransitionError(
            f"the reply of round {state.handled_round} to appeal {appeal_id} was sent back; "
            f"{state.handled_by} has not replied again yet"
        )
    approved = decision.decision == "approved"
    if not approved and decision.reason is None:
        raise ValueError("a reply is sent back with a reason")  # the route validates first
    return [
        fact(
            events.ReplyReviewed,
            state,
            appeal_id=appeal_id,
            context=context,
            causation_id=state.handled_event_id,
            round=state.handled_round,
            department=state.handled_by,
            decision=decision.decision,
            reason=decision.reason,
            callback_due=callback_due if approved else None,
            rating_closes_at=max(context.now + rating_window, callback_due) if approved else None,
            calendar=calendar if approved else None,
        )
    ]
