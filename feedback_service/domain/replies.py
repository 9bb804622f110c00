"""The holding department's reply, and the hotline centre's review of it."""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from feedback_service.domain.state import Feedback, Holder, fact
from shared import events
from shared.errors import InvalidTransitionError, NotPermittedError

AttachmentRef = Annotated[str, Field(min_length=1, max_length=500)]


class Reply(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    result: events.HandlingResult
    reply: events.Text  # what was done; for "unsolvable", why it cannot be solved
    attachments: tuple[AttachmentRef, ...] = Field(default=(), max_length=20)
    person: str | None = Field(default=None, min_length=1, max_length=100)


class ReviewDecision(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    decision: Literal["approved", "sent_back"]
    reason: events.Text | None = None  # required when sending back (the route says so)


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
    handling round; again only if the hotline centre sent its reply back."""
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
    if state.handled_round >= holder.round and state.review != "sent_back":
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


def review(
    state: Feedback,
    decision: ReviewDecision,
    *,
    appeal_id: UUID,
    callback_due: datetime,
    actor: str,
    event_id: UUID,
    now: datetime,
) -> list[events.Event]:
    """The hotline centre approves the latest reply (a callback falls due at `callback_due`)
    or sends it back with a reason (the department replies again). Each reply is reviewed
    once."""
    if state.handled_event_id is None or state.handled_by is None:
        raise InvalidTransitionError(f"appeal {appeal_id} has no reply to review")
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
            id=event_id,
            time=now,
            actor=actor,
            causation_id=state.handled_event_id,
            round=state.handled_round,
            department=state.handled_by,
            decision=decision.decision,
            reason=decision.reason,
            callback_due=callback_due if approved else None,
        )
    ]
