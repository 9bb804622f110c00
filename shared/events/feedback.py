"""feedback's facts: the department's reply and the citizen's rating."""

from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import Field, model_validator

from shared.events.base import (
    Attitude,
    Channel,
    Code,
    Event,
    HandlingResult,
    Satisfaction,
    Text,
    UtcDatetime,
)
from shared.personal_data import Sealed

Comment = Annotated[str, Field(max_length=2000)]


def _one_comment(comment: str | None, sealed: Sealed | None) -> None:
    if comment is not None and sealed is not None:
        raise ValueError("a comment is either in clear (older facts) or sealed, not both")


class Handled(Event):
    """The holding department replied with what it did. feedback → dispatch, intake, audit."""

    source: ClassVar[str] = "feedback"
    type: Literal["appeal.handled"] = "appeal.handled"
    department: Code
    round: int = Field(default=1, ge=1)  # 2 and up after a redo
    result: HandlingResult
    reply: Text  # what was done; for "unsolvable", why it cannot be solved
    # References to evidence kept elsewhere (site photos, documents): ids or URLs.
    attachments: tuple[Annotated[str, Field(min_length=1, max_length=500)], ...] = Field(
        default=(), max_length=20
    )
    person: str | None = Field(default=None, min_length=1, max_length=100)  # responsible


class Rated(Event):
    """The citizen rated the handling. feedback → dispatch, intake, audit.

    v1 carried `satisfied: bool`; v2 has the three grades the hotline really uses; v3 adds
    whether the citizen holds the department at fault (see `shared.upcasting`). A redo is
    decided on `solved` and `department_at_fault`, never on "dissatisfied" alone.
    """

    source: ClassVar[str] = "feedback"
    schema_version: ClassVar[int] = 4
    type: Literal["appeal.rated"] = "appeal.rated"
    round: int = Field(default=1, ge=1)
    satisfaction: Satisfaction
    solved: bool
    # The citizen says the department was at fault (its handling or its attitude), not the
    # demand itself; None: not asked (v1, v2).
    department_at_fault: bool | None = None
    # The citizen's words: in clear only in facts recorded before v4; from v4 sealed under
    # the citizen's key (`sealed_comment`), erased with the rest of their data.
    comment: Comment | None = None
    sealed_comment: Sealed | None = None
    via: Literal["api", "callback", "link"] = "api"  # an operator, a callback, a rating link
    # The department's attitude as the citizen saw it; None: not asked or not said (and on
    # every rating recorded before the question existed: an optional field, no new version).
    attitude: Attitude | None = None
    # A merged child's rating (并单): the parent whose handling it rates, and the department
    # that handled the parent's round. None on an appeal's own rating (and before merged
    # ratings said so: optional fields, no new version).
    merged_into: UUID | None = None
    handled_by: Code | None = None

    @model_validator(mode="after")
    def _comment_once(self) -> "Rated":
        _one_comment(self.comment, self.sealed_comment)
        return self


class NotRated(Event):
    """The rating window of a handling round closed with no rating: recorded as such, never
    as a silent "satisfied". feedback → dispatch, intake, audit."""

    source: ClassVar[str] = "feedback"
    type: Literal["appeal.not_rated"] = "appeal.not_rated"
    round: int = Field(ge=1)
    window_closed_at: UtcDatetime
    # Why: the rating window closed, or every callback attempt failed to reach the citizen.
    reason: Literal["window_expired", "unreachable"] = "window_expired"


class ReplyReviewed(Event):
    """The hotline centre reviewed a round's reply: approved (a callback is due) or sent back
    with the reason (the department replies again). feedback → dispatch, intake, audit.

    v2 adds, on an approval, the working-day calendar version the callback's due time was
    counted on (dispatch's, learnt from `calendar.published`) and when the rating window
    closes: never before the callback is due."""

    source: ClassVar[str] = "feedback"
    schema_version: ClassVar[int] = 2
    type: Literal["appeal.reply_reviewed"] = "appeal.reply_reviewed"
    round: int = Field(ge=1)
    department: Code
    decision: Literal["approved", "sent_back"]
    reason: Text | None = None
    callback_due: UtcDatetime | None = None  # set when approved
    rating_closes_at: UtcDatetime | None = None  # set when approved (v2)
    calendar: str | None = None  # the calendar version callback_due was counted on (v2)


class CallbackMade(Event):
    """One callback attempt (回访). Every attempt is kept, reached or not; only the first that
    reaches the citizen in a round sets the round's rating (`counted`), so repeated calls that
    end in "satisfied" after a "dissatisfied" stay visible to audit. feedback → audit."""

    source: ClassVar[str] = "feedback"
    schema_version: ClassVar[int] = 3  # v2: department_at_fault; v3: sealed_comment
    type: Literal["appeal.callback_made"] = "appeal.callback_made"
    round: int = Field(ge=1)
    attempt: int = Field(ge=1)
    reached: bool
    satisfaction: Satisfaction | None = None
    solved: bool | None = None
    department_at_fault: bool | None = None  # as on `appeal.rated`; None: not asked
    comment: Comment | None = None  # as on `appeal.rated`: in clear before v3, then sealed
    sealed_comment: Sealed | None = None
    counted: bool = False
    next_attempt_due: UtcDatetime | None = None  # after an unreached attempt, if any is left
    attitude: Attitude | None = None  # the citizen's view of the department's attitude

    @model_validator(mode="after")
    def _comment_once(self) -> "CallbackMade":
        _one_comment(self.comment, self.sealed_comment)
        return self


class CitizenNotified(Event):
    """A notice to the citizen was delivered through their channel (the channel's endpoint
    took it): an approved extension (the new deadline and why) or an approved reply (with a
    rating link). Recorded on delivery, not when queued; the cause is the approval.
    feedback → audit."""

    source: ClassVar[str] = "feedback"
    type: Literal["appeal.citizen_notified"] = "appeal.citizen_notified"
    kind: Literal["extension_approved", "reply_approved"]
    channel: Channel
    delivery_id: UUID  # the notice's webhook delivery
    message: Text  # what the citizen was told


class CitizenNoticeFailed(Event):
    """A notice to the citizen could not be delivered: every attempt failed (or no channel
    key was configured to sign it). The citizen has not been told; the hotline centre sees
    it in GET /v1/notice-failures and calls the citizen instead. feedback → audit."""

    source: ClassVar[str] = "feedback"
    type: Literal["appeal.citizen_notice_failed"] = "appeal.citizen_notice_failed"
    kind: Literal["extension_approved", "reply_approved"]
    channel: Channel
    delivery_id: UUID
    message: Text  # what the citizen was to be told
    attempts: int = Field(ge=1)
    error: Text  # the last attempt's failure, e.g. "HTTP 503" or "ConnectTimeout"


Escalation = Literal["appeal.supervised", "appeal.escalated_to_centre"]


class LeadershipNotified(Event):
    """The department's leadership channel took the notice of an escalation (提级): the
    centre escalated (`appeal.supervised` at level escalation) or the citizen was still not
    served after every redo (`appeal.escalated_to_centre`). Recorded on delivery; the cause
    is the escalation. feedback → audit."""

    source: ClassVar[str] = "feedback"
    type: Literal["appeal.leadership_notified"] = "appeal.leadership_notified"
    department: Code
    escalation: Escalation
    delivery_id: UUID
    message: Text  # what the leadership was told


class LeadershipNoticeFailed(Event):
    """The notice of an escalation could not be delivered to the department's leadership
    channel: every attempt failed, or no key was configured to sign it. The centre sees it
    in GET /v1/leadership-notice-failures and tells the leadership another way.
    feedback → audit."""

    source: ClassVar[str] = "feedback"
    type: Literal["appeal.leadership_notice_failed"] = "appeal.leadership_notice_failed"
    department: Code
    escalation: Escalation
    delivery_id: UUID
    message: Text
    attempts: int = Field(ge=1)
    error: Text


FEEDBACK_EVENTS: tuple[type[Event], ...] = (
    Handled,
    Rated,
    NotRated,
    ReplyReviewed,
    CallbackMade,
    CitizenNotified,
    CitizenNoticeFailed,
    LeadershipNotified,
    LeadershipNoticeFailed,
)
