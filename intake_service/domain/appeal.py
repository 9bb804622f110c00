"""The appeal at the front office: what a caller files, how intake's own facts fold into
the appeal's state, and every decision the front office makes. Pure: no I/O, no clock."""

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared import events
from shared.errors import InvalidTransitionError, NotFoundError

E = TypeVar("E", bound=events.Event)
Stage = Literal["held", "forwarded", "answered", "transferred", "rejected"]
CLOSING_STAGES: frozenset[Stage] = frozenset({"answered", "transferred", "rejected"})


class NewAppeal(BaseModel):
    """What a caller submits; the envelope fields are the hotline's to set. Without a
    category, the catalogue's keyword rules choose one."""

    model_config = ConfigDict(frozen=True, extra="forbid")
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


@dataclass(frozen=True, slots=True)
class Meta:
    """Who decides, when, and where fresh fact ids come from."""

    actor: str
    now: datetime
    new_id: Callable[[], UUID]


@dataclass(frozen=True, slots=True)
class Appeal:
    appeal_id: UUID
    correlation_id: UUID
    category: str
    appeal_type: events.AppealType
    urgency: events.Urgency
    district: str | None
    received_at: datetime
    stage: Stage = "held"
    merged_into: UUID | None = None


def evolve(state: Appeal | None, event: events.Event) -> Appeal | None:
    if isinstance(event, events.AppealReceived):
        return Appeal(
            appeal_id=event.subject,
            correlation_id=event.correlation_id,
            category=event.category,
            appeal_type=event.appeal_type,
            urgency=event.urgency,
            district=event.location.district,
            received_at=event.time,
        )
    if state is None:
        return None
    match event:
        case events.AppealClassified():
            return replace(
                state,
                category=event.category,
                appeal_type=event.appeal_type,
                urgency=event.urgency,
            )
        case events.AppealForwarded():
            return replace(state, stage="forwarded")
        case events.AnsweredDirectly():
            return replace(state, stage="answered")
        case events.TransferredToEmergency():
            return replace(state, stage="transferred")
        case events.AppealRejected():
            return replace(state, stage="rejected")
        case events.MergedInto():
            return replace(state, merged_into=event.parent)
        case events.Unmerged():
            return replace(state, merged_into=None)
    return state


def fact(cls: type[E], appeal: Appeal, meta: Meta, **fields: Any) -> E:
    return cls(
        id=meta.new_id(),
        subject=appeal.appeal_id,
        time=meta.now,
        actor=meta.actor,
        correlation_id=appeal.correlation_id,
        **fields,
    )


def receive(
    appeal: NewAppeal,
    *,
    category: str,
    urgency: events.Urgency,
    hold: bool,
    appeal_id: UUID,
    meta: Meta,
) -> list[events.Event]:
    """The appeal as received and, unless the operator holds it at the front office,
    forwarded to dispatch at once, in the same decision."""
    received = events.AppealReceived(
        id=meta.new_id(),
        subject=appeal_id,
        time=meta.now,
        actor=meta.actor,
        correlation_id=appeal_id,
        **{**appeal.model_dump(), "category": category, "urgency": urgency},
    )
    if hold:
        return [received]
    state = evolve(None, received)
    assert state is not None
    return [received, _forwarded(state, meta, causation_id=received.id)]


def _forwarded(
    appeal: Appeal, meta: Meta, causation_id: UUID | None = None
) -> events.AppealForwarded:
    return fact(
        events.AppealForwarded,
        appeal,
        meta,
        causation_id=causation_id,
        category=appeal.category,
        appeal_type=appeal.appeal_type,
        urgency=appeal.urgency,
        district=appeal.district,
        received_at=appeal.received_at,
    )


def held(appeal: Appeal | None) -> Appeal:
    """The appeal, if it is still at the front office for a decision."""
    if appeal is None:
        raise NotFoundError("no such appeal")
    if appeal.merged_into is not None:
        raise InvalidTransitionError(
            f"the appeal is merged into {appeal.merged_into}: unmerge it first"
        )
    if appeal.stage != "held":
        raise InvalidTransitionError(f"the appeal was already {appeal.stage}")
    return appeal


def classify(
    appeal: Appeal | None,
    *,
    category: str,
    appeal_type: events.AppealType,
    urgency: events.Urgency,
    reason: str,
    catalogue_version: int | None,
    meta: Meta,
) -> list[events.Event]:
    """An operator's override of the classification, only while the appeal is held: once
    forwarded, dispatch has routed on it (reassignment there is the remedy)."""
    appeal = held(appeal)
    if (category, appeal_type, urgency) == (appeal.category, appeal.appeal_type, appeal.urgency):
        return []
    return [
        fact(
            events.AppealClassified,
            appeal,
            meta,
            category=category,
            appeal_type=appeal_type,
            urgency=urgency,
            catalogue_version=catalogue_version,
            previous_category=appeal.category,
            reason=reason,
        )
    ]


def forward(appeal: Appeal | None, meta: Meta) -> list[events.Event]:
    return [_forwarded(held(appeal), meta)]


def answer(
    appeal: Appeal | None,
    *,
    article: tuple[str, int] | None,
    text: str,
    meta: Meta,
) -> list[events.Event]:
    """Settled from a knowledge-base article (its version kept) or in a three-party call."""
    article_id, version = article if article is not None else (None, None)
    return [
        fact(
            events.AnsweredDirectly,
            held(appeal),
            meta,
            article_id=article_id,
            article_version=version,
            answer=text,
        )
    ]


def transfer(
    appeal: Appeal | None,
    *,
    line: events.EmergencyLine,
    mode: Literal["one_click", "three_party_call"],
    external_reference: str,
    meta: Meta,
) -> list[events.Event]:
    return [
        fact(
            events.TransferredToEmergency,
            held(appeal),
            meta,
            line=line,
            mode=mode,
            external_reference=external_reference,
        )
    ]


def reject(
    appeal: Appeal | None,
    *,
    reason: str,
    legal_route: events.LegalRoute,
    explanation: str,
    meta: Meta,
) -> list[events.Event]:
    return [
        fact(
            events.AppealRejected,
            held(appeal),
            meta,
            reason=reason,
            legal_route=legal_route,
            explanation=explanation,
        )
    ]
