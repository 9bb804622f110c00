"""The bodies intake's routes accept. Each is checked here, at the edge; the domain gets
plain values (`domain.NewAppeal`, keyword arguments)."""

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from intake_service import domain
from shared import events


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AppealBody(_Body):
    """What a caller submits; the envelope fields are the hotline's to set. Without a
    category, the catalogue's keyword rules choose one. Open311's form is checked into one."""

    channel: events.Channel
    appeal_type: events.AppealType
    category: events.Code | None = None
    urgency: events.Urgency = "normal"
    content: events.Text
    citizen: events.Citizen
    location: events.Location = Field(default_factory=events.Location)
    attachments: tuple[events.AttachmentRef, ...] = Field(
        default=(), max_length=events.MAX_ATTACHMENTS
    )
    about_department: events.Code | None = Field(
        default=None,
        description="a conduct complaint (category conduct.*): the department it is about, "
        "which is then never given the appeal nor told who filed it",
    )

    def appeal(self) -> domain.NewAppeal:
        return domain.NewAppeal(
            channel=self.channel,
            appeal_type=self.appeal_type,
            category=self.category,
            urgency=self.urgency,
            content=self.content,
            citizen=self.citizen,
            location=self.location,
            attachments=self.attachments,
            about_department=self.about_department,
        )


class AppealFiling(AppealBody):
    """POST /v1/appeals: the appeal, and whether the front office holds it for a decision
    (answer, transfer, reject, merge, classify, forward) instead of forwarding it now."""

    hold: bool = False


class Classification(_Body):
    category: events.Code
    appeal_type: events.AppealType | None = None  # unchanged when absent
    urgency: events.Urgency | None = None  # unchanged when absent
    reason: events.Text


class Answer(_Body):
    """From an article (its version in force unless one is named; its body is the answer
    unless one is written), or a three-party call's note as `answer` alone."""

    article_id: str | None = Field(default=None, min_length=1, max_length=64)
    article_version: int | None = Field(default=None, ge=1)
    answer: events.Text | None = None


class Transfer(_Body):
    line: events.EmergencyLine
    mode: Literal["one_click", "three_party_call"] = "one_click"
    external_reference: str = Field(min_length=1, max_length=100)


class Rejection(_Body):
    reason: events.Text
    legal_route: events.LegalRoute
    explanation: events.Text


class Merge(_Body):
    parent: UUID
    reason: events.Text


class Unmerge(_Body):
    reason: events.Text
