"""What feedback's routes answer: the typed 2xx bodies of its OpenAPI document."""

from datetime import datetime
from typing import Any, Literal, Self
from uuid import UUID

from pydantic import BaseModel, Field

from feedback_service import domain
from feedback_service.rating_links import IssuedLink
from feedback_service.sender import message_id
from shared import events
from shared.runtime.commands import Outcome


class Fact(BaseModel):
    event_id: UUID
    type: str


class Recorded(BaseModel):
    """A command's facts on the appeal's feedback stream: the first one, and all of them."""

    appeal_id: UUID
    event_id: UUID = Field(description="the first fact recorded")
    type: str
    version: int = Field(description="the feedback stream's version after the facts")
    time: datetime
    facts: list[Fact]

    @classmethod
    def of(cls, appeal_id: UUID, outcome: Outcome[domain.Feedback], **extra: Any) -> Self:
        first = outcome.new[0]
        return cls(
            appeal_id=appeal_id,
            event_id=first.id,
            type=first.type,
            version=outcome.version,
            time=first.time,
            facts=[Fact(event_id=e.id, type=e.type) for e in outcome.new],
            **extra,
        )


class Reviewed(Recorded):
    callback_due: datetime | None = Field(
        default=None, description="when the citizen's callback falls due, for an approval"
    )
    rating_closes_at: datetime | None = Field(
        default=None,
        description="when the round is recorded as not rated, if nobody rated it: never "
        "before the callback is due (nor while a callback attempt is)",
    )
    calendar: str | None = Field(
        default=None, description="the working-day calendar version the callback is due on"
    )

    @classmethod
    def reviewed(cls, appeal_id: UUID, outcome: Outcome[domain.Feedback]) -> Self:
        review = outcome.new[0]
        assert isinstance(review, events.ReplyReviewed)
        return cls.of(
            appeal_id,
            outcome,
            callback_due=review.callback_due,
            rating_closes_at=review.rating_closes_at,
            calendar=review.calendar,
        )


class CalledBack(Recorded):
    attempt: int
    counted: bool = Field(description="this attempt set the round's rating")
    next_attempt_due: datetime | None

    @classmethod
    def made(cls, appeal_id: UUID, outcome: Outcome[domain.Feedback]) -> Self:
        made = outcome.new[0]
        assert isinstance(made, events.CallbackMade)
        return cls.of(
            appeal_id,
            outcome,
            attempt=made.attempt,
            counted=made.counted,
            next_attempt_due=made.next_attempt_due,
        )


class FeedbackView(BaseModel):
    """The appeal's feedback as the caller may see it (a department sees only its own)."""

    appeal_id: UUID
    holder: str | None
    round: int | None
    signed_for: bool
    handled_by: str | None
    handled_round: int
    review: Literal["approved", "sent_back"] | None
    approved_round: int
    callback_due: datetime | None
    callbacks: int
    rated_round: int
    version: int


class CallbackDue(BaseModel):
    appeal_id: UUID
    round: int
    department: str
    due_at: datetime
    overdue: bool
    attempts: int


class RatingLink(BaseModel):
    appeal_id: UUID
    round: int
    token: str
    url: str
    expires_at: datetime

    @classmethod
    def of(cls, issued: IssuedLink) -> Self:
        return cls(
            appeal_id=issued.appeal_id,
            round=issued.round,
            token=issued.token,
            url=issued.url,
            expires_at=issued.expires_at,
        )


class RatingLinkTarget(BaseModel):
    """What a rating link rates, for the citizen's page."""

    appeal_id: UUID
    round: int
    expires_at: datetime


class Subscription(BaseModel):
    id: UUID
    filer: str
    url: str
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, row: dict[str, Any]) -> Self:
        return cls.model_validate({k: row[k] for k in cls.model_fields})


class NewSubscription(Subscription):
    secret: str = Field(description="the Standard Webhooks signing secret, shown this once")


class Delivery(BaseModel):
    webhook_id: str = Field(description="the `webhook-id` header, the same on every retry")
    subscription_id: UUID | None
    channel: str | None
    appeal_id: UUID
    event_id: UUID
    kind: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None = Field(
        description="the hotline centre's only; null for a partner"
    )
    last_error: str | None = Field(description="the hotline centre's only; null for a partner")
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def of(cls, row: dict[str, Any], *, detail: bool = True) -> Self:
        """`detail`: the last status code and error, for the hotline centre. A partner is
        told only pending, delivered or failed: what its URL answered from inside the
        cluster (a status, a connection error naming hosts) could map the network."""
        fields = {k: row[k] for k in cls.model_fields if k != "webhook_id"}
        if not detail:
            fields |= {"last_status_code": None, "last_error": None}
        return cls(webhook_id=message_id(row["id"]), **fields)


class CalendarView(BaseModel):
    """The working-day calendar version callbacks fall due on (dispatch's, as learnt)."""

    number: int = Field(description="0: the packaged library's years alone")
    calendar: str = Field(description="the version's name, as facts record it")
    published_years: list[int] = Field(description="years with a published arrangement")
