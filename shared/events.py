"""Event contracts: every fact the services exchange, as frozen pydantic models.

The deciding code builds these; the event store adds the stream `version` and `prev_hash`
and `shared.envelope` puts them on the wire with CloudEvents attribute names.
"""

from datetime import UTC, datetime
from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

__all__ = [
    "EVENT_TYPES",
    "AppealReceived",
    "AppealType",
    "Assigned",
    "Channel",
    "Citizen",
    "Closed",
    "Code",
    "Event",
    "Handled",
    "HandlingResult",
    "Location",
    "Rated",
    "Satisfaction",
    "Text",
    "Urgency",
]


def _as_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_as_utc)]
Text = Annotated[str, Field(min_length=1, max_length=4000)]
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")]
Channel = Literal["phone", "web", "app", "wechat", "partner", "open311"]
AppealType = Literal["consultation", "help", "complaint", "report", "suggestion", "praise"]
Urgency = Literal["normal", "urgent"]
HandlingResult = Literal["solved", "explained", "unsolvable"]


class Event(BaseModel):
    """Fields every fact carries; `type` is the discriminator, `source` the owning service."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    source: ClassVar[str]
    schema_version: ClassVar[int] = 1

    type: str
    id: UUID
    subject: UUID  # the appeal id: the stream id and the Kafka key
    time: UtcDatetime
    actor: str = Field(min_length=1, max_length=200)
    causation_id: UUID | None = None
    correlation_id: UUID


class Citizen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9-]{5,20}$")
    anonymous: bool = False


class Location(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    address: str | None = Field(default=None, max_length=500)
    district: Code | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    long: float | None = Field(default=None, ge=-180, le=180)


class AppealReceived(Event):
    """A citizen's appeal was accepted by the hotline. intake → dispatch, feedback, audit."""

    source: ClassVar[str] = "intake"
    type: Literal["appeal.received"] = "appeal.received"
    channel: Channel
    appeal_type: AppealType
    category: Code
    urgency: Urgency = "normal"
    content: Text
    citizen: Citizen
    location: Location


class Assigned(Event):
    """The work order was assigned to a lead department. dispatch → feedback, intake, audit."""

    source: ClassVar[str] = "dispatch"
    type: Literal["appeal.assigned"] = "appeal.assigned"
    department: Code
    routing_rule: str  # the rule that chose the department, or "fallback"
    routing_version: int = Field(ge=1)


class Closed(Event):
    """The work order's loop ended. dispatch → intake, feedback, audit."""

    source: ClassVar[str] = "dispatch"
    type: Literal["appeal.closed"] = "appeal.closed"
    basis: Literal["rated_satisfied", "rated_dissatisfied"]


class Handled(Event):
    """The holding department replied with what it did. feedback → dispatch, intake, audit."""

    source: ClassVar[str] = "feedback"
    type: Literal["appeal.handled"] = "appeal.handled"
    department: Code
    result: HandlingResult
    reply: Text


Satisfaction = Literal["satisfied", "basically_satisfied", "dissatisfied"]


class Rated(Event):
    """The citizen rated the handling. feedback → dispatch, intake, audit.

    v1 carried `satisfied: bool`; v2 has the three grades the hotline really uses
    (see `shared.upcasting`).
    """

    source: ClassVar[str] = "feedback"
    schema_version: ClassVar[int] = 2
    type: Literal["appeal.rated"] = "appeal.rated"
    satisfaction: Satisfaction
    solved: bool
    comment: str | None = Field(default=None, max_length=2000)


EVENT_TYPES: dict[str, type[Event]] = {
    model.model_fields["type"].default: model
    for model in (AppealReceived, Assigned, Closed, Handled, Rated)
}
