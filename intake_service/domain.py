"""Intake decisions and the appeal's status as other services' facts report it. Pure."""

from datetime import datetime
from typing import Final
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared import events

STATUS_RANK: Final = {
    "received": 0,
    "assigned": 1,
    "redo": 1,
    "in_progress": 2,
    "handled": 3,
    "rated": 4,
    "not_rated": 4,
    "closed": 9,
}


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


Progress = tuple[int, str]  # (handling round, status)


def progress_after(event: events.Event, current_round: int) -> Progress | None:
    """Where another service's fact puts the appeal, if anywhere. Facts that carry no round
    belong to the current one."""
    match event:
        case events.Assigned() | events.Redispatched():
            return current_round, "assigned"
        case events.SignedFor():
            return current_round, "in_progress"
        case events.RedoOrdered(round=round_):
            return round_, "redo"
        case events.Handled(round=round_):
            return round_, "handled"
        case events.Rated(round=round_):
            return round_, "rated"
        case events.NotRated(round=round_):
            return round_, "not_rated"
        case events.Closed():
            return current_round, "closed"
    return None


def advances(current: Progress, new: Progress) -> bool:
    # Facts from different topics arrive in any order: progress only moves forward, round
    # first (a redo starts a new round), then stage within the round.
    return (new[0], STATUS_RANK[new[1]]) > (current[0], STATUS_RANK[current[1]])
