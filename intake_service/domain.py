"""Intake decisions and the appeal's status as other services' facts report it. Pure."""

from datetime import datetime
from typing import Final
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared import events

STATUS_RANK: Final = {"received": 0, "assigned": 1, "handled": 2, "rated": 3, "closed": 4}


class NewAppeal(BaseModel):
    """What a caller submits; the envelope fields are the hotline's to set."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    channel: events.Channel
    appeal_type: events.AppealType
    category: events.Code
    urgency: events.Urgency = "normal"
    content: events.Text
    citizen: events.Citizen
    location: events.Location = Field(default_factory=events.Location)


def receive(
    appeal: NewAppeal, *, appeal_id: UUID, event_id: UUID, actor: str, now: datetime
) -> list[events.Event]:
    return [
        events.AppealReceived(
            id=event_id,
            subject=appeal_id,
            time=now,
            actor=actor,
            correlation_id=appeal_id,
            **appeal.model_dump(),
        )
    ]


def status_after(event: events.Event) -> str | None:
    """The status another service's fact moves the appeal to, if any."""
    match event:
        case events.Assigned():
            return "assigned"
        case events.Handled():
            return "handled"
        case events.Rated():
            return "rated"
        case events.Closed():
            return "closed"
    return None


def advances(current: str, new: str) -> bool:
    # Facts from different topics arrive in any order; status only moves forward.
    return STATUS_RANK[new] > STATUS_RANK[current]
