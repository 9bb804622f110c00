"""intake's facts: the appeal as received."""

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events.base import AppealType, Channel, Code, Event, Text, Urgency


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
